"""Salesforce through simple-salesforce (REST): Leads (and Contacts), Users as owners, Tasks, and the Opportunity.

Owner writes carry `Sforce-Auto-Assign: FALSE`, or the org's active lead assignment rule would take the lead
back from the SDR Leadbot chose. Lead conversion has no REST endpoint (SOAP `convertLead()` and Apex only),
so an accepted SQL becomes an Opportunity owned by the AE, with its Account (found by website, else created),
its Contact (found by email, else made from the Lead) and an OpportunityContactRole, in one composite graph:
all or none, so a refusal halfway leaves no orphan Account or Contact. The Lead itself stays unconverted
with the status `crm.salesforce.lead_status` gives; an admin who wants it converted can do so from the
Opportunity's Contact. The client does not retry; the outbox relay does, by the target's policy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests
import urllib3
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError
from simple_salesforce.format import format_soql

from bot.core.config_crm import SalesforceConfig
from bot.core.settings import Settings
from bot.crm.records import (
    ActivityWrite,
    CrmBusy,
    CrmDeal,
    CrmError,
    CrmRecord,
    CrmRefused,
    CrmUnavailable,
    DealWrite,
    RecordUpdate,
)
from bot.crm.salesforce_auth import sign_in
from store.models import Lead

NO_ASSIGNMENT_RULE = {"Sforce-Auto-Assign": "FALSE"}
# REQUEST_LIMIT_EXCEEDED is the org's rolling 24-hour allocation: looking again every few minutes costs little.
LIMIT_BACKOFF_S = 300.0
NOT_PROVIDED = "[not provided]"  # what Salesforce's own web-to-lead puts in a required field it was not given
QUERY_EMAILS = 100  # emails per look-up query, well inside SOQL's length limit
COLLECTION_SIZE = 200  # the most records an sObject Collections call takes
TASK_SUBTYPES = {"call": "Call", "email": "Email", "linkedin": "LinkedIn"}


class SalesforceConnector:
    system, label = "salesforce", "Salesforce"

    def __init__(self, settings: Settings, config: SalesforceConfig, stamp_names: dict[str, str]):
        self.settings, self.config, self.stamp_names = settings, config, stamp_names
        self.instance_url = (settings.salesforce_instance_url or "").rstrip("/")
        self._client: Salesforce | None = None
        self._client_lock = threading.Lock()
        self._owners: dict[str, str | None] = {}

    # -- records ------------------------------------------------------------------------------------
    def find_record(self, email: str) -> CrmRecord | None:
        """An open Lead with this email; else, if the admin says so, a Contact (SOQL reads are not delayed)."""
        found = self._first("SELECT Id FROM Lead WHERE Email = {} AND IsConverted = false ORDER BY CreatedDate", email)
        if found:
            return CrmRecord(found["Id"], "Lead")
        if self.config.search_contacts:
            found = self._first("SELECT Id FROM Contact WHERE Email = {} ORDER BY CreatedDate", email)
            if found:
                return CrmRecord(found["Id"], "Contact")
        return None

    def find_records(self, emails: list[str]) -> dict[str, CrmRecord]:
        """Open Leads (then Contacts, if asked) with these emails: one query for each 100 emails."""
        found: dict[str, CrmRecord] = {}
        sobjects = ("Lead", "Contact") if self.config.search_contacts else ("Lead",)
        for sobject in sobjects:
            wanted = [e for e in emails if e.lower() not in found]
            for start in range(0, len(wanted), QUERY_EMAILS):
                soql = f"SELECT Id, Email FROM {sobject} WHERE Email IN {{}}"
                soql += " AND IsConverted = false" if sobject == "Lead" else ""
                for row in self._query(soql + " ORDER BY CreatedDate DESC", wanted[start : start + QUERY_EMAILS]):
                    found[row["Email"].lower()] = CrmRecord(row["Id"], sobject)  # the oldest wins: it comes last
        return found

    def create_records(self, leads: list[tuple[Lead, RecordUpdate]]) -> list[CrmRecord | CrmError]:
        """Leads created through sObject Collections, each created or refused on its own."""
        records = [{"attributes": {"type": "Lead"}, **self._new_lead(lead, update)} for lead, update in leads]
        return [
            CrmRecord(answer["id"], "Lead") if answer.get("success") else _item_error(answer)
            for answer in self._collection("POST", records)
        ]

    def create_record(self, lead: Lead, update: RecordUpdate) -> CrmRecord:
        fields = self._new_lead(lead, update)
        created = self._call(
            lambda sf: sf.restful("sobjects/Lead/", method="POST", json=fields, headers=NO_ASSIGNMENT_RULE)
        )
        return CrmRecord(created["id"], "Lead")

    def _new_lead(self, lead: Lead, update: RecordUpdate) -> dict[str, Any]:
        fields = {
            "FirstName": lead.first_name,
            "LastName": lead.last_name or NOT_PROVIDED,
            "Company": lead.company or NOT_PROVIDED,
            "Email": lead.email,
            "Title": lead.title,
            "Phone": lead.phone,
            "Country": lead.country,
            "State": lead.region,
        }
        return {k: v for k, v in fields.items() if v} | self._fields(update, "Lead")

    def update_record(self, record: CrmRecord, update: RecordUpdate) -> None:
        fields = self._fields(update, record.type)
        if fields:
            path = f"sobjects/{record.type}/{record.id}"
            self._call(lambda sf: sf.restful(path, method="PATCH", json=fields, headers=NO_ASSIGNMENT_RULE))

    def update_records(self, updates: list[tuple[CrmRecord, RecordUpdate]]) -> list[CrmError | None]:
        """Owner / status updates through sObject Collections, each succeeding or failing alone."""
        records = [{"attributes": {"type": r.type}, "id": r.id, **self._fields(u, r.type)} for r, u in updates]
        return [None if answer.get("success") else _item_error(answer) for answer in self._collection("PATCH", records)]

    def _collection(self, method: str, records: list[dict]) -> list[dict]:
        """sObject Collections, 200 records a call (allOrNone off): one answer per record, in order."""
        answers: list[dict] = []
        for start in range(0, len(records), COLLECTION_SIZE):
            body = {"allOrNone": False, "records": records[start : start + COLLECTION_SIZE]}
            answers += self._call(
                lambda sf, body=body: sf.restful("composite/sobjects", method=method, json=body,
                                                 headers=NO_ASSIGNMENT_RULE)
            )  # fmt: skip
        return answers

    def _fields(self, update: RecordUpdate, sobject: str) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if update.owner_crm_id:
            fields["OwnerId"] = update.owner_crm_id
        if sobject == "Lead":  # Contacts have no Status; the stamp fields are custom fields on Lead
            if update.stage and update.stage in self.config.lead_status:
                fields["Status"] = self.config.lead_status[update.stage]
            fields |= update.stamps
        return fields  # no lifecycle: a Salesforce org has no standard field for it

    # -- activities -----------------------------------------------------------------------------------
    def log_activity(self, record: CrmRecord, activity: ActivityWrite, look_first: bool) -> None:
        """A completed Task on the Lead or Contact (WhoId); its description says when, to the second."""
        subject = activity.subject[:255]
        description = f"{activity.body}\nAt: {activity.at.isoformat(timespec='seconds')}".strip()
        if look_first and self._task_exists(record, subject, description):
            return
        task = {
            "WhoId": record.id,
            "Subject": subject,
            "Description": description,
            "Status": "Completed",
            "Priority": "Normal",
            "ActivityDate": activity.at.date().isoformat(),
            "TaskSubtype": TASK_SUBTYPES.get(activity.kind, "Task"),
        }
        if activity.owner_crm_id:
            task["OwnerId"] = activity.owner_crm_id
        self._call(lambda sf: sf.restful("sobjects/Task/", method="POST", json=task))

    def _task_exists(self, record: CrmRecord, subject: str, description: str) -> bool:
        # A long text field cannot be filtered in SOQL: select it and compare here.
        soql = "SELECT Id, Description FROM Task WHERE WhoId = {} AND Subject = {}"
        return any(t.get("Description") == description for t in self._query(soql, record.id, subject))

    # -- the opportunity ----------------------------------------------------------------------------------
    def open_deal(self, record: CrmRecord, deal: DealWrite, look_first: bool) -> CrmDeal:
        person = self._person(record)
        contact_id = record.id if record.type == "Contact" else self._contact_by_email(person.get("Email"))
        if look_first and contact_id:
            existing = self._opportunity_of(contact_id, deal.name)
            if existing:
                return CrmDeal(existing, self._url("Opportunity", existing))
        account_id = self._account_for(deal.company, deal.domain)
        nodes, account_ref = [], account_id
        if account_id is None and (deal.company or deal.domain):
            account = {"Name": deal.company or deal.domain, "Website": deal.domain, "OwnerId": deal.owner_crm_id}
            nodes.append(self._node("account", "Account", account))
            account_ref = "@{account.id}"
        contact_ref = contact_id
        if contact_id is None:
            contact = {k: person.get(k) for k in ("FirstName", "LastName", "Email", "Title", "Phone")}
            contact |= {"LastName": person.get("LastName") or NOT_PROVIDED, "AccountId": account_ref}
            nodes.append(self._node("contact", "Contact", contact | {"OwnerId": deal.owner_crm_id}))
            contact_ref = "@{contact.id}"
        opportunity = {
            "Name": deal.name[:120],
            "StageName": self.config.opportunity_stage,
            "CloseDate": (deal.at + self.config.close_date_in).date().isoformat(),
            "Amount": deal.amount,
            "AccountId": account_ref,
            "OwnerId": deal.owner_crm_id,
            "Description": "\n".join(f"{k}: {v}" for k, v in deal.fields.items()) or None,
        }
        nodes.append(self._node("opportunity", "Opportunity", opportunity))
        role = {"OpportunityId": "@{opportunity.id}", "ContactId": contact_ref, "IsPrimary": True}
        nodes.append(self._node("role", "OpportunityContactRole", role))
        created = self._graph(nodes)
        return CrmDeal(created["opportunity"], self._url("Opportunity", created["opportunity"]))

    def _person(self, record: CrmRecord) -> dict:
        fields = "FirstName, LastName, Email, Title, Phone"
        found = self._first(f"SELECT {fields} FROM {record.type} WHERE Id = {{}}", record.id)
        if found is None:
            raise CrmRefused("NOT_FOUND", f"the {record.type} {record.id} is no longer in Salesforce")
        return found

    def _contact_by_email(self, email: str | None) -> str | None:
        found = self._first("SELECT Id FROM Contact WHERE Email = {} ORDER BY CreatedDate", email) if email else None
        return found["Id"] if found else None

    def _opportunity_of(self, contact_id: str, name: str) -> str | None:
        """The opportunity of this name an earlier attempt opened for this contact (its answer was lost)."""
        roles = self._query("SELECT OpportunityId FROM OpportunityContactRole WHERE ContactId = {}", contact_id)
        ids = [r["OpportunityId"] for r in roles]
        found = self._first("SELECT Id FROM Opportunity WHERE Name = {} AND Id IN {}", name, ids) if ids else None
        return found["Id"] if found else None

    def _account_for(self, name: str | None, domain: str | None) -> str | None:
        """The Account whose website is this domain (as people type it), else one of this name."""
        if domain:
            sites = [f"{scheme}{www}{domain}" for scheme in ("", "http://", "https://") for www in ("", "www.")]
            sites += [f"{s}/" for s in sites if s.startswith("http")]
            found = self._first("SELECT Id FROM Account WHERE Website IN {} ORDER BY CreatedDate", sites)
            if found:
                return found["Id"]
        if name:
            found = self._first("SELECT Id FROM Account WHERE Name = {} ORDER BY CreatedDate", name)
            return found["Id"] if found else None
        return None

    def _node(self, reference: str, sobject: str, body: dict) -> dict:
        url = f"/services/data/v{self.config.api_version}/sobjects/{sobject}"
        return {"method": "POST", "url": url, "referenceId": reference,
                "body": {k: v for k, v in body.items() if v is not None}}  # fmt: skip

    def _graph(self, nodes: list[dict]) -> dict[str, str]:
        """Run the nodes all or none; {referenceId: created id}, or the first real refusal among them."""
        body = {"graphs": [{"graphId": "leadbot", "compositeRequest": nodes}]}
        answer = self._call(lambda sf: sf.restful("composite/graph", method="POST", json=body))
        graph = answer["graphs"][0]
        results = graph["graphResponse"]["compositeResponse"]
        if graph.get("isSuccessful"):
            return {r["referenceId"]: r["body"]["id"] for r in results}
        errors = [e for r in results if isinstance(r["body"], list) for e in r["body"]]
        real = next((e for e in errors if e.get("errorCode") != "PROCESSING_HALTED"), errors[0] if errors else {})
        raise CrmRefused(real.get("errorCode") or "COMPOSITE_FAILED", str(real.get("message") or "graph failed")[:300])

    # -- owners, links, checks ---------------------------------------------------------------------------
    def owner_id_for(self, email: str) -> str | None:
        """The active User with this email; remembered for the process's life."""
        key = email.lower()
        if key not in self._owners:
            found = self._first("SELECT Id FROM User WHERE Email = {} AND IsActive = true", email)
            self._owners[key] = found["Id"] if found else None
        return self._owners[key]

    def record_url(self, record: CrmRecord) -> str | None:
        return self._url(record.type, record.id)

    def _url(self, sobject: str, record_id: str) -> str | None:
        return f"{self.instance_url}/lightning/r/{sobject}/{record_id}/view" if self.instance_url else None

    def problems(self, owners: dict[str, str | None], properties: list[str]) -> list[str]:
        found = []
        for name, email in owners.items():
            if not email:
                found.append(f"{name}: no crm_owner_id and no email, so Leadbot cannot set them as owner")
            elif self.owner_id_for(email) is None:
                found.append(f"{name}: Salesforce has no active user with the email {email}")
        if properties:
            described = self._call(lambda sf: sf.restful("sobjects/Lead/describe"))
            fields = {f["name"] for f in described["fields"]}
            found += [f"crm.stamp_fields: Salesforce Leads have no field {n!r}" for n in properties if n not in fields]
        return found

    # -- every call -----------------------------------------------------------------------------------
    def _query(self, soql: str, *values) -> list[dict]:
        text = format_soql(soql, *values)
        return list(self._call(lambda sf: sf.query(text))["records"])

    def _first(self, soql: str, *values) -> dict | None:
        found = self._query(f"{soql} LIMIT 1", *values)
        return found[0] if found else None

    def _signed_in(self) -> Salesforce:
        with self._client_lock:  # signed in on first use, so a Salesforce outage never stops Leadbot starting
            if self._client is None:
                self._client = sign_in(self.settings, self.config.api_version)
            return self._client

    def _call(self, action: Callable[[Salesforce], Any]) -> Any:
        try:
            return action(self._signed_in())
        except SalesforceAuthenticationFailed as exc:
            raise CrmRefused("AUTHENTICATION_FAILED", f"{exc.code}: {exc.auth_message}") from None
        except SalesforceError as exc:
            raise _error_for(exc.status, exc.content) from None
        except requests.exceptions.ConnectionError as exc:
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            sent = not isinstance(
                reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
            ) and not isinstance(exc, requests.exceptions.ConnectTimeout)
            raise CrmUnavailable(f"Salesforce did not answer: {type(reason or exc).__name__}", in_doubt=sent) from None
        except requests.exceptions.Timeout as exc:
            raise CrmUnavailable(f"Salesforce did not answer: {type(exc).__name__}", in_doubt=True) from None


def _error_for(status: int, content: Any) -> Exception:
    first = content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else {}
    code = str(first.get("errorCode") or f"HTTP_{status}")
    message = str(first.get("message") or f"HTTP {status}")[:300]
    if code == "REQUEST_LIMIT_EXCEEDED":
        return CrmBusy(f"Salesforce API limit ({message})", LIMIT_BACKOFF_S)
    if status >= 500:
        return CrmUnavailable(f"Salesforce answered {status}: {message}", in_doubt=status == 504)
    return CrmRefused(code, message)


def _item_error(answer: dict) -> CrmError:
    """One record's failure in an sObject Collections answer (its code is `statusCode` there)."""
    error = (answer.get("errors") or [{}])[0]
    code = str(error.get("statusCode") or error.get("errorCode") or "UNKNOWN")
    return _error_for(400, [{"errorCode": code, "message": error.get("message") or code}])
