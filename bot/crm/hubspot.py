"""HubSpot through hubspot-api-client: contacts, owners, calls / emails / notes, companies and deals (CRM v3).

The client is pointed at `HUBSPOT_API_URL` (a local stand-in in tests and the demo). It does not retry:
the outbox relay does, by the target's policy, so a 429 or an outage never holds a sender thread.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import urllib3
from hubspot import HubSpot
from urllib3.util.retry import Retry

from bot.core.config_crm import HubSpotConfig
from bot.crm.hubspot_activities import ENGAGEMENT_TYPE_IDS, ENGAGEMENTS, activity_read
from bot.crm.records import (
    ActivityWrite,
    CrmActivity,
    CrmBusy,
    CrmDeal,
    CrmError,
    CrmRecord,
    CrmRefused,
    CrmUnavailable,
    DealWrite,
    RecordUpdate,
)
from store.models import Lead

log = logging.getLogger(__name__)

# HubSpot-defined association types (the v4 associations reference).
CALL_TO_CONTACT, EMAIL_TO_CONTACT, NOTE_TO_CONTACT = 194, 198, 202
DEAL_TO_CONTACT, DEAL_TO_COMPANY = 3, 5
CONTACT_TO_COMPANY = 279
# lifecyclestage only moves forward through the API; a record found further along keeps its stage.
LIFECYCLE_ORDER = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
)
TIMEOUT_S = 10
# The ten-second window of HubSpot's burst limit: when a 429 names no wait, the window is waited out.
DEFAULT_BACKOFF_S = 10.0
BATCH_SIZE = 100  # the most inputs a batch update takes


def _association(to_id: str, type_id: int) -> dict:
    return {"to": {"id": to_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}


def _ms(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


class HubSpotConnector:
    system, label = "hubspot", "HubSpot"

    def __init__(self, access_token: str, api_url: str, config: HubSpotConfig, stamp_names: dict[str, str]):
        # Connection refused is safe to retry at once (nothing was sent); anything after sending is the relay's.
        retry = Retry(total=2, connect=2, read=0, status=0, other=0, backoff_factor=0.2)
        self.client = HubSpot(access_token=access_token, host=api_url.rstrip("/"), retry=retry)
        self.config, self.stamp_names = config, stamp_names
        self._owners: dict[str, str | None] = {}

    # -- records ------------------------------------------------------------------------------------
    def find_record(self, email: str) -> CrmRecord | None:
        """By email as the id property: read at once, unlike search, which lags a fresh record by seconds."""
        found = self._call(
            self.client.crm.contacts.basic_api.get_by_id,
            email,
            id_property="email",
            properties=["email"],
            not_found_is_none=True,
        )
        if found is None:
            return None
        return CrmRecord(str(found.id), "contact")

    def find_records(self, emails: list[str]) -> dict[str, CrmRecord]:
        """By email as the id property, 100 a call; the ones HubSpot lacks come back as errors (207)."""
        found: dict[str, CrmRecord] = {}
        for start in range(0, len(emails), BATCH_SIZE):
            inputs = [{"id": email} for email in emails[start : start + BATCH_SIZE]]
            answer = self._call(
                self.client.crm.contacts.batch_api.read,
                batch_read_input_simple_public_object_id={"idProperty": "email", "inputs": inputs,
                                                          "properties": ["email"]},
            )  # fmt: skip
            for contact in answer.results or []:
                email = (contact.properties or {}).get("email")
                if email:
                    found[email.lower()] = CrmRecord(str(contact.id), "contact")
        return found

    def create_records(self, leads: list[tuple[Lead, RecordUpdate]]) -> list[CrmRecord | CrmError]:
        """100 contacts a call. HubSpot's batch create is all or none, so a refusal is the whole call's."""
        made: dict[str, CrmRecord] = {}
        for start in range(0, len(leads), BATCH_SIZE):
            chunk = leads[start : start + BATCH_SIZE]
            inputs = [{"properties": self._new_contact(lead, update), "associations": []} for lead, update in chunk]
            answer = self._call(
                self.client.crm.contacts.batch_api.create,
                batch_input_simple_public_object_batch_input_for_create={"inputs": inputs},
            )
            for contact in answer.results or []:  # HubSpot does not promise the input order: match by email
                made[(contact.properties or {}).get("email", "").lower()] = CrmRecord(str(contact.id), "contact")
        missing = CrmUnavailable("HubSpot's answer left this contact out", in_doubt=True)
        return [made.get(lead.email.lower(), missing) for lead, _ in leads]

    def create_record(self, lead: Lead, update: RecordUpdate) -> CrmRecord:
        properties = self._new_contact(lead, update)
        try:
            created = self._call(
                self.client.crm.contacts.basic_api.create,
                simple_public_object_input_for_create={"properties": properties},
            )
        except CrmRefused as refused:
            existing = _existing_contact_id(refused)
            if existing is None:
                raise
            # An earlier attempt created it (its answer was lost), or someone else just did: use that one.
            record = CrmRecord(existing, "contact")
            self.update_record(record, update)
            return record
        return CrmRecord(str(created.id), "contact")

    def _new_contact(self, lead: Lead, update: RecordUpdate) -> dict[str, str]:
        properties = {
            "email": lead.email,
            "firstname": lead.first_name,
            "lastname": lead.last_name,
            "company": lead.company,
            "jobtitle": lead.title,
            "phone": lead.phone,
            "country": lead.country,
            "state": lead.region,
        }
        return {k: v for k, v in properties.items() if v} | self._properties(update)

    def update_record(self, record: CrmRecord, update: RecordUpdate) -> None:
        properties = self._properties(update)
        if "lifecyclestage" in properties and _later_stage(self._lifecycle_of(record), properties["lifecyclestage"]):
            del properties["lifecyclestage"]  # a customer who fills in a form again stays a customer
        if properties:
            self._call(
                self.client.crm.contacts.basic_api.update,
                record.id,
                simple_public_object_input={"properties": properties},
            )

    def update_records(self, updates: list[tuple[CrmRecord, RecordUpdate]]) -> list[CrmError | None]:
        """Owner / status updates, 100 contacts a call (HubSpot's batch update is all or none per call)."""
        if any(u.lifecycle for _, u in updates):
            raise ValueError("lifecycle changes are read before they are written: update those one by one")
        for start in range(0, len(updates), BATCH_SIZE):
            inputs = [{"id": r.id, "properties": self._properties(u)} for r, u in updates[start : start + BATCH_SIZE]]
            self._call(
                self.client.crm.contacts.batch_api.update,
                batch_input_simple_public_object_batch_input={"inputs": inputs},
            )
        return [None] * len(updates)

    def _lifecycle_of(self, record: CrmRecord) -> str | None:
        found = self._call(self.client.crm.contacts.basic_api.get_by_id, record.id, properties=["lifecyclestage"])
        return (found.properties or {}).get("lifecyclestage")

    def _properties(self, update: RecordUpdate) -> dict[str, str]:
        properties: dict[str, str] = {}
        if update.owner_crm_id:
            properties["hubspot_owner_id"] = update.owner_crm_id
        if update.stage and update.stage in self.config.lead_status:
            properties["hs_lead_status"] = self.config.lead_status[update.stage]
        if update.lifecycle and update.lifecycle in self.config.lifecycle_stage:
            properties["lifecyclestage"] = self.config.lifecycle_stage[update.lifecycle]
        return properties | update.stamps

    # -- activities -----------------------------------------------------------------------------------
    def log_activity(self, record: CrmRecord, activity: ActivityWrite, look_first: bool) -> None:
        kind = self.config.touch_activity.get(activity.kind, "note") if activity.kind != "note" else "note"
        objects = {"call": "calls", "email": "emails", "note": "notes"}[kind]
        if look_first and self._activity_exists(objects, record, activity.at):
            return
        properties = {"hs_timestamp": _ms(activity.at)}
        if activity.owner_crm_id:
            properties["hubspot_owner_id"] = activity.owner_crm_id
        if kind == "call":
            properties |= {
                "hs_call_title": activity.subject,
                "hs_call_body": activity.body,
                "hs_call_direction": "OUTBOUND",
                "hs_call_status": "COMPLETED",
            }
            association = CALL_TO_CONTACT
        elif kind == "email":
            properties |= {
                "hs_email_subject": activity.subject,
                "hs_email_text": activity.body,
                "hs_email_direction": "EMAIL",
                "hs_email_status": "SENT",
            }
            association = EMAIL_TO_CONTACT
        else:
            properties["hs_note_body"] = f"{activity.subject}\n{activity.body}".strip()
            association = NOTE_TO_CONTACT
        api = getattr(self.client.crm.objects, objects).basic_api
        self._call(
            api.create,
            simple_public_object_input_for_create={
                "properties": properties,
                "associations": [_association(record.id, association)],
            },
        )

    def _activity_exists(self, objects: str, record: CrmRecord, at: datetime) -> bool:
        """An activity at this very millisecond on this contact: the one an earlier attempt created."""
        filters = [
            {"propertyName": "hs_timestamp", "operator": "EQ", "value": _ms(at)},
            {"propertyName": "associations.contact", "operator": "EQ", "value": record.id},
        ]
        api = getattr(self.client.crm.objects, objects).search_api
        found = self._call(api.do_search, public_object_search_request={"filterGroups": [{"filters": filters}]})
        return bool(found.total)

    # -- deals ------------------------------------------------------------------------------------------
    def open_deal(self, record: CrmRecord, deal: DealWrite, look_first: bool) -> CrmDeal:
        if look_first:
            existing = self._find_deal(record, deal.name)
            if existing:
                return CrmDeal(existing, self._url("0-3", existing))
        company_id = self._company_for(deal.company, deal.domain)
        properties = {
            "dealname": deal.name,
            "pipeline": self.config.pipeline,
            "dealstage": self.config.deal_stage,
            "closedate": _ms(deal.at + self.config.close_date_in),
            "description": "\n".join(f"{k}: {v}" for k, v in deal.fields.items()) or None,
            "hubspot_owner_id": deal.owner_crm_id,
            "amount": str(deal.amount) if deal.amount is not None else None,
        }
        associations = [_association(record.id, DEAL_TO_CONTACT)]
        if company_id:
            associations.append(_association(company_id, DEAL_TO_COMPANY))
        created = self._call(
            self.client.crm.deals.basic_api.create,
            simple_public_object_input_for_create={
                "properties": {k: v for k, v in properties.items() if v is not None},
                "associations": associations,
            },
        )
        return CrmDeal(str(created.id), self._url("0-3", str(created.id)))

    def _find_deal(self, record: CrmRecord, name: str) -> str | None:
        filters = [
            {"propertyName": "dealname", "operator": "EQ", "value": name},
            {"propertyName": "associations.contact", "operator": "EQ", "value": record.id},
        ]
        found = self._call(
            self.client.crm.deals.search_api.do_search,
            public_object_search_request={"filterGroups": [{"filters": filters}]},
        )
        return str(found.results[0].id) if found.total else None

    def _company_for(self, name: str | None, domain: str | None) -> str | None:
        """The company with this domain, created if there is none (a personal address has no company)."""
        if not domain:
            return None
        filters = [{"propertyName": "domain", "operator": "EQ", "value": domain}]
        found = self._call(
            self.client.crm.companies.search_api.do_search,
            public_object_search_request={"filterGroups": [{"filters": filters}], "limit": 1},
        )
        if found.total:
            return str(found.results[0].id)
        created = self._call(
            self.client.crm.companies.basic_api.create,
            simple_public_object_input_for_create={"properties": {"name": name or domain, "domain": domain}},
        )
        return str(created.id)

    # -- owners, links, checks ---------------------------------------------------------------------------
    def owner_id_for(self, email: str) -> str | None:
        """The owner `id` (not the `userId`) HubSpot knows by this email; remembered for the process's life."""
        key = email.lower()
        if key not in self._owners:
            page = self._call(self.client.crm.owners.owners_api.get_page, email=email, limit=1)
            self._owners[key] = str(page.results[0].id) if page.results else None
        return self._owners[key]

    def read_activity(self, kind: str, activity_id: str) -> CrmActivity | None:
        """A call, email, meeting or note (kind: "calls", ... or its type id "0-48", ...) with its contacts."""
        objects = ENGAGEMENT_TYPE_IDS.get(kind, kind)
        if objects not in ENGAGEMENTS:
            return None
        _, title, body = ENGAGEMENTS[objects]
        found = self._call(
            self.client.crm.objects.basic_api.get_by_id,
            objects,
            activity_id,
            properties=["hs_timestamp", "hubspot_owner_id", title, body],
            associations=["contacts"],
            not_found_is_none=True,
        )
        return None if found is None else activity_read(objects, found)

    def record_url(self, record: CrmRecord) -> str | None:
        return self._url("0-1", record.id)

    def _url(self, object_type: str, object_id: str) -> str | None:
        if not self.config.portal_id:
            return None
        return f"{self.config.app_url.rstrip('/')}/contacts/{self.config.portal_id}/record/{object_type}/{object_id}"

    def problems(self, owners: dict[str, str | None], properties: list[str]) -> list[str]:
        found = []
        for name, email in owners.items():
            if not email:
                found.append(f"{name}: no crm_owner_id and no email, so Leadbot cannot set them as owner")
            elif self.owner_id_for(email) is None:
                found.append(f"{name}: HubSpot has no owner with the email {email}")
        for name in properties:
            exists = self._call(
                self.client.crm.properties.core_api.get_by_name, "contacts", name, not_found_is_none=True
            )
            if exists is None:
                found.append(f"crm.stamp_fields: HubSpot contacts have no property {name!r}")
        return found

    # -- every call -----------------------------------------------------------------------------------
    def _call(self, method, *args, not_found_is_none: bool = False, **kwargs):
        try:
            return method(*args, _request_timeout=TIMEOUT_S, **kwargs)
        except urllib3.exceptions.MaxRetryError as exc:
            sent = not isinstance(
                exc.reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
            )
            raise CrmUnavailable(f"HubSpot did not answer: {exc.reason}", in_doubt=sent) from None
        except urllib3.exceptions.HTTPError as exc:  # read timeout, connection dropped mid-answer
            raise CrmUnavailable(f"HubSpot did not answer: {type(exc).__name__}", in_doubt=True) from None
        except Exception as exc:
            status = getattr(exc, "status", None)
            if not isinstance(status, int):
                raise
            if status == 404 and not_found_is_none:
                return None
            raise _error_for(status, getattr(exc, "body", None), dict(getattr(exc, "headers", None) or {})) from None


def _error_for(status: int, body: str | bytes | None, headers: dict) -> Exception:
    try:
        data = json.loads(body or "{}")
    except (TypeError, ValueError):
        data = {}
    data = data if isinstance(data, dict) else {}
    message = str(data.get("message") or f"HTTP {status}")[:300]
    if status == 429:
        wait = headers.get("Retry-After") or headers.get("retry-after")
        return CrmBusy(
            f"HubSpot rate limit ({data.get('policyName', 'unknown policy')})", float(wait or DEFAULT_BACKOFF_S)
        )
    if status >= 500:
        return CrmUnavailable(f"HubSpot answered {status}: {message}", in_doubt=status == 504)
    cause = str(
        data.get("category") or {401: "INVALID_AUTHENTICATION", 403: "MISSING_SCOPES"}.get(status, f"HTTP_{status}")
    )
    return CrmRefused(cause, message)


def _existing_contact_id(refused: CrmRefused) -> str | None:
    """HubSpot's 409 for a contact whose email exists: "Contact already exists. Existing ID: 123"."""
    if refused.cause != "CONFLICT" or "Existing ID:" not in refused.message:
        return None
    return refused.message.rsplit("Existing ID:", 1)[1].strip().rstrip(".") or None


def _later_stage(current: str | None, wanted: str) -> bool:
    if not current:
        return False
    order = {name: n for n, name in enumerate(LIFECYCLE_ORDER)}
    return order.get(current, len(order)) > order.get(wanted, -1)
