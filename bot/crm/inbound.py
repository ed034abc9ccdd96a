"""What a CRM tells Leadbot, parsed once: HubSpot's webhook events and the records a Salesforce Flow sends.

Two things matter to Leadbot: an activity made in the CRM (a call, email, meeting or note: a touch), and a
change of a record's owner. Everything else a subscription may deliver is counted and left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from bot.crm.hubspot_activities import ENGAGEMENT_TYPE_IDS
from bot.crm.records import LEADBOT_SIGNATURE, CrmActivity

HUBSPOT_CONTACT = "0-1"
HUBSPOT_OWNER_PROPERTY = "hubspot_owner_id"
MAX_EVENTS = 100  # HubSpot sends at most 100 events a request
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class InvalidCrmEvent(ValueError):
    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class ActivityMade:
    """HubSpot says an activity was created; what it is must be read from HubSpot (the event carries only ids)."""

    kind: str  # the object type: calls, emails, meetings, notes
    activity_id: str


@dataclass(frozen=True)
class OwnerChanged:
    record_id: str
    owner_crm_id: str | None  # None: the owner was cleared
    occurred_at: datetime


CrmEvent = ActivityMade | CrmActivity | OwnerChanged


# -- HubSpot -------------------------------------------------------------------------------------------
class HubSpotEvent(BaseModel):
    """One event of a webhook request (HubSpot's documented fields; others are ignored)."""

    model_config = ConfigDict(extra="ignore")

    eventId: int | Id
    subscriptionType: Id
    objectId: int | Id
    occurredAt: Annotated[int, Field(ge=0)]
    objectTypeId: Id | None = None
    propertyName: Id | None = None
    propertyValue: str | None = None
    changeSource: str | None = None


_HUBSPOT_EVENTS = TypeAdapter(Annotated[list[HubSpotEvent], Field(max_length=MAX_EVENTS)])


def hubspot_events(data: Any) -> list[CrmEvent | None]:
    """The request's events as Leadbot's (None for one Leadbot has no use for); InvalidCrmEvent if malformed."""
    try:
        events = _HUBSPOT_EVENTS.validate_python(data if isinstance(data, list) else [data])
    except ValidationError as exc:
        raise InvalidCrmEvent(_field_errors(exc)) from None
    return [_hubspot_event(event) for event in events]


def _hubspot_event(event: HubSpotEvent) -> CrmEvent | None:
    kind = event.subscriptionType
    if kind == "object.creation" and event.objectTypeId in ENGAGEMENT_TYPE_IDS:
        return ActivityMade(ENGAGEMENT_TYPE_IDS[event.objectTypeId], str(event.objectId))
    on_contact = kind == "contact.propertyChange" or (
        kind == "object.propertyChange" and event.objectTypeId == HUBSPOT_CONTACT
    )
    if on_contact and event.propertyName == HUBSPOT_OWNER_PROPERTY:
        return OwnerChanged(
            record_id=str(event.objectId),
            owner_crm_id=event.propertyValue or None,
            occurred_at=datetime.fromtimestamp(event.occurredAt / 1000, tz=UTC),
        )
    return None


# -- Salesforce ----------------------------------------------------------------------------------------
class SalesforceAttributes(BaseModel):
    type: Id


class SalesforceRecord(BaseModel):
    """A record as Salesforce serialises an sObject to JSON (a Flow's HTTP callout, Apex JSON.serialize)."""

    model_config = ConfigDict(extra="ignore")

    attributes: SalesforceAttributes
    Id: Id
    OwnerId: Id | None = None
    WhoId: Id | None = None  # Task / Event: the Lead or Contact it is about
    Subject: str | None = None
    Description: str | None = None
    TaskSubtype: str | None = None
    Type: str | None = None
    CompletedDateTime: AwareDatetime | None = None
    StartDateTime: AwareDatetime | None = None
    CreatedDate: AwareDatetime | None = None
    LastModifiedDate: AwareDatetime | None = None


_SALESFORCE_RECORDS = TypeAdapter(Annotated[list[SalesforceRecord], Field(max_length=200)])
# Task.TaskSubtype / Type → contact method (an Event is a meeting).
_TASK_CHANNELS = {"call": "call", "email": "email", "listemail": "email", "linkedin": "linkedin", "meeting": "meeting"}


def salesforce_events(data: Any) -> list[CrmEvent | None]:
    """A record, a list of records or {"records": [...]} as Leadbot's events; InvalidCrmEvent if malformed."""
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    try:
        records = _SALESFORCE_RECORDS.validate_python(data if isinstance(data, list) else [data])
    except ValidationError as exc:
        raise InvalidCrmEvent(_field_errors(exc)) from None
    return [_salesforce_event(record) for record in records]


def _salesforce_event(record: SalesforceRecord) -> CrmEvent | None:
    kind = record.attributes.type
    if kind in ("Task", "Event") and record.WhoId:
        subtype = (record.TaskSubtype or record.Type or "").replace(" ", "").lower()
        at = record.CompletedDateTime or record.StartDateTime or record.CreatedDate or record.LastModifiedDate
        if at is None:
            raise InvalidCrmEvent({"CreatedDate": f"the {kind} says nothing of when it happened"})
        return CrmActivity(
            id=f"{kind}:{record.Id}",
            channel="meeting" if kind == "Event" else _TASK_CHANNELS.get(subtype, "other"),
            owner_crm_id=record.OwnerId,
            at=at,
            record_ids=(record.WhoId,),
            title=(record.Subject or "")[:200],
            by_leadbot=LEADBOT_SIGNATURE in (record.Description or ""),
        )
    if kind in ("Lead", "Contact") and record.OwnerId:
        occurred = record.LastModifiedDate
        if occurred is None:
            raise InvalidCrmEvent({"LastModifiedDate": "send it with an owner change: it orders the change"})
        return OwnerChanged(record_id=record.Id, owner_crm_id=record.OwnerId, occurred_at=occurred)
    return None


def _field_errors(exc: ValidationError) -> dict[str, str]:
    return {".".join(str(p) for p in error["loc"]) or "body": error["msg"] for error in exc.errors()[:10]}
