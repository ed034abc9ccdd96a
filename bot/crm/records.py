"""What Leadbot writes to a CRM, in its own words, and how a CRM says no: the types every connector shares.

A connector (HubSpot, Salesforce) turns these into its API's calls and its own field values; the CRM
target (bot/crm/target.py) decides what to write and when, the same for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from store.models import Lead


@dataclass(frozen=True)
class CrmRecord:
    id: str
    type: str  # "contact" (HubSpot); "Lead" or "Contact" (Salesforce)


@dataclass(frozen=True)
class RecordUpdate:
    """Owner, status and lifecycle, in Leadbot's terms (a stage, a lifecycle): the connector maps the values."""

    owner_crm_id: str | None = None
    stage: str | None = None
    lifecycle: str | None = None
    stamps: dict[str, str] = field(default_factory=dict)  # CRM property / field name → value


@dataclass(frozen=True)
class ActivityWrite:
    """A touch (call, email, ...) or a status note, logged on the record as done at `at` by `owner_crm_id`."""

    kind: str  # a contact method ("call", "email", "linkedin", "other") or "note"
    subject: str
    body: str
    at: datetime
    owner_crm_id: str | None


# The last line of every activity Leadbot writes: when the CRM tells Leadbot about a new call or note, this
# is how Leadbot knows the activity is its own write coming back (not a touch to count a second time).
LEADBOT_SIGNATURE = "(logged by Leadbot)"


def signed(body: str) -> str:
    return f"{body}\n{LEADBOT_SIGNATURE}"


@dataclass(frozen=True)
class CrmActivity:
    """A call, email, meeting or note made in the CRM, as Leadbot reads it back (to count it as a touch)."""

    id: str  # the CRM's id of the activity ("calls:123" in HubSpot, a Task or Event id in Salesforce)
    channel: str  # a contact method: call, email, meeting, other
    owner_crm_id: str | None
    at: datetime
    record_ids: tuple[str, ...]  # the contacts / leads it belongs to
    title: str = ""
    by_leadbot: bool = False  # Leadbot's own write coming back


@dataclass(frozen=True)
class DealWrite:
    name: str
    owner_crm_id: str | None
    company: str | None
    domain: str | None
    amount: float | None
    fields: dict[str, str]  # the qualification, as "label: value" lines in the description
    at: datetime


@dataclass(frozen=True)
class CrmDeal:
    id: str
    url: str | None


class CrmError(Exception):
    """A write that did not happen (each subclass says whether and when to try again)."""


class CrmRefused(CrmError):
    """Refused for good (a validation rule, an unknown owner, a token that cannot be renewed): not retried.

    `cause` groups refusals for the managers' notice and the metrics; `message` is the CRM's own words.
    """

    def __init__(self, cause: str, message: str):
        super().__init__(f"{cause}: {message}")
        self.cause, self.message = cause, message


class CrmBusy(CrmError):
    """Rate-limited: nothing was written; try again after `wait` seconds."""

    def __init__(self, message: str, wait: float):
        super().__init__(message)
        self.wait = wait


class CrmUnavailable(CrmError):
    """Down, 5xx or no answer. `in_doubt`: no answer came, so the write may have happened (look first)."""

    def __init__(self, message: str, in_doubt: bool):
        super().__init__(message)
        self.in_doubt = in_doubt


class CrmConnector(Protocol):
    system: str  # "hubspot" | "salesforce"
    label: str  # "HubSpot" | "Salesforce", for people

    def find_record(self, email: str) -> CrmRecord | None: ...

    def create_record(self, lead: Lead, update: RecordUpdate) -> CrmRecord: ...

    def update_record(self, record: CrmRecord, update: RecordUpdate) -> None: ...

    def find_records(self, emails: list[str]) -> dict[str, CrmRecord]:
        """Many look-ups by email in the CRM's batch API: lower-cased email → record, for those found."""
        ...

    def create_records(self, leads: list[tuple[Lead, RecordUpdate]]) -> list[CrmRecord | CrmError]:
        """Many records created in the CRM's batch API, in the order given: each the record, or why not."""
        ...

    def update_records(self, updates: list[tuple[CrmRecord, RecordUpdate]]) -> list[CrmError | None]:
        """Many owner / status updates in the CRM's batch API: for each, None (written) or why not."""
        ...

    def log_activity(self, record: CrmRecord, activity: ActivityWrite, look_first: bool) -> None:
        """Create it; with `look_first`, first look for one an earlier attempt created (the answer was lost)."""
        ...

    def open_deal(self, record: CrmRecord, deal: DealWrite, look_first: bool) -> CrmDeal: ...

    def owner_id_for(self, email: str) -> str | None: ...

    def record_url(self, record: CrmRecord) -> str | None: ...

    def problems(self, owners: dict[str, str | None], properties: list[str]) -> list[str]:
        """What `leadbot check-config` reports: the token, each member's owner, each configured property."""
        ...
