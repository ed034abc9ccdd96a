"""What a historic record says about itself: when it was created, its stage, its owner and its first touch.

A backfill (`leadbot import --backfill`) keeps these as the CRM had them. Dates come as exports write them:
ISO 8601, "2026-11-20 10:03" (HubSpot, no zone: the team's zone is meant), "11/20/2026 10:03 AM"
(Salesforce, US), "20.11.2026 10:03" (European; `--dayfirst` for the ambiguous ones), or epoch milliseconds.
Statuses are HubSpot's Lead Status and Lifecycle Stage values, Salesforce's standard Lead Status values, or
Leadbot's own stage names; `--stage VALUE=stage` names the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from dateutil import parser as dates

from bot.core.config import Config
from bot.core.team import person_named
from bot.intake.accept import InvalidLead
from store.models import Stage

# Normalised status values (see `status_key`) → Leadbot's stage.
STATUS_STAGES: dict[str, Stage] = {
    # HubSpot Lead Status (hs_lead_status)
    "new": Stage.NEW, "open": Stage.NEW, "in_progress": Stage.ATTEMPTING_CONTACT,
    "attempted_to_contact": Stage.ATTEMPTING_CONTACT, "connected": Stage.ENGAGED, "open_deal": Stage.ACCEPTED,
    "unqualified": Stage.DISQUALIFIED, "bad_timing": Stage.DISQUALIFIED,
    # Salesforce standard Lead Status
    "open_not_contacted": Stage.NEW, "working_contacted": Stage.ATTEMPTING_CONTACT,
    "closed_converted": Stage.ACCEPTED, "closed_not_converted": Stage.DISQUALIFIED,
} | {stage.value: stage for stage in Stage}  # fmt: skip

# HubSpot Lifecycle Stage → the playbook's lifecycle stage; a stage past the lead also says how far it got.
LIFECYCLES: dict[str, str] = {
    "subscriber": "lead", "lead": "lead", "other": "lead",
    "marketing_qualified_lead": "mql", "marketingqualifiedlead": "mql", "mql": "mql",
    "sales_qualified_lead": "sql", "salesqualifiedlead": "sql", "sql": "sql",
    "opportunity": "opportunity", "customer": "opportunity", "evangelist": "opportunity",
}  # fmt: skip
LIFECYCLE_ORDER = ("lead", "mql", "sql", "opportunity")
CLOSED = (Stage.ACCEPTED, Stage.DISQUALIFIED)


class BadHistory(InvalidLead):
    """A history field of the row cannot be read: the field, and what is wrong with its value."""

    def __init__(self, field: str, problem: str):
        super().__init__({field: problem})


@dataclass(frozen=True)
class History:
    created_at: datetime
    stage: Stage
    lifecycle: str  # lead, mql, sql, opportunity
    owner_id: str | None  # None: the file names nobody on the team
    owner_named: str | None  # as the file wrote it
    first_touch_at: datetime | None
    status: str | None  # as the file wrote it

    @property
    def is_open(self) -> bool:
        return self.stage not in CLOSED


def status_key(value: str) -> str:
    """'Open - Not Contacted' → open_not_contacted; 'ATTEMPTED_TO_CONTACT' → attempted_to_contact."""
    return re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_")


def parse_moment(value: str, zone: tzinfo, *, dayfirst: bool = False) -> datetime:
    """An export's date or date-time as an aware UTC moment; a value without a zone is in `zone`."""
    text = value.strip()
    if text.isdigit() and len(text) >= 12:  # epoch milliseconds (HubSpot's API exports)
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        moment = datetime.fromisoformat(text)  # most exports, and ten times faster than the general parser
    except ValueError:
        try:
            moment = dates.parse(text, dayfirst=dayfirst)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"{value!r} is not a date") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class HistoryReader:
    """Reads the history fields of rows with one config and the file's own conventions."""

    config: Config
    now: datetime
    dayfirst: bool = False
    stages: dict[str, Stage] | None = None  # --stage: the file's own status values

    def read(self, row: dict) -> History:
        """Pop the history fields from `row` (what stays is the lead) and read them; BadHistory if one is bad."""
        created_text, first_text = row.pop("created_at", None), row.pop("first_touch_at", None)
        status, lifecycle_text = row.pop("status", None), row.pop("lifecycle_stage", None)
        owner = row.pop("owner", None)
        if not created_text:
            raise BadHistory("created_at", "required in a backfill (the record's own Create Date keeps it in its week)")
        created = self._moment("created_at", created_text)
        if created > self.now:
            raise BadHistory("created_at", f"{created_text!r} is in the future")
        first_touch = self._moment("first_touch_at", first_text) if first_text else None
        lifecycle = self._lifecycle(lifecycle_text)
        stage = self._stage(status, lifecycle, first_touch)
        owner_id = person_named(self.config, owner, by_name=True) if owner else None
        return History(created, stage, lifecycle, owner_id, owner, first_touch, status)

    def _moment(self, field: str, text: str) -> datetime:
        try:
            return parse_moment(text, self.config.tz, dayfirst=self.dayfirst)
        except ValueError as exc:
            raise BadHistory(field, str(exc)) from None

    def _lifecycle(self, text: str | None) -> str:
        if not text:
            return "lead"
        lifecycle = LIFECYCLES.get(status_key(text))
        if lifecycle is None:
            raise BadHistory("lifecycle_stage", f"{text!r} is not a lifecycle stage Leadbot knows")
        return lifecycle

    def _stage(self, status: str | None, lifecycle: str, first_touch: datetime | None) -> Stage:
        """The file's status, else what the lifecycle stage implies; a New lead already touched is Attempting."""
        if status:
            key = status_key(status)
            stage = (self.stages or {}).get(key) or STATUS_STAGES.get(key)
            if stage is None:
                known = f"--stage '{status}=engaged' names it"
                raise BadHistory("status", f"{status!r} is not a status Leadbot knows: {known}")
        else:
            stage = {"sql": Stage.SQL, "opportunity": Stage.ACCEPTED}.get(lifecycle, Stage.NEW)
        return Stage.ATTEMPTING_CONTACT if stage == Stage.NEW and first_touch else stage


def reached(history: History, stage: str) -> bool:
    """Whether the record got as far as `stage` (mql, sql, opportunity) by its lifecycle or its status."""
    by_status = {Stage.SQL: "sql", Stage.ACCEPTED: "opportunity"}.get(history.stage, "lead")
    furthest = max(LIFECYCLE_ORDER.index(history.lifecycle), LIFECYCLE_ORDER.index(by_status))
    return furthest >= LIFECYCLE_ORDER.index(stage)
