"""What the rules tell the CRM, queued in the same transaction as the change (nothing, with no CRM configured).

Each write carries the facts as they were when it was decided (the owner then, the stage then), so the
queue's order per lead is the order they land in: a later status never lands before an earlier one.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Session

from bot.core.config import Config
from bot.delivery import queue as delivery
from bot.delivery.kinds import Target
from store.models import Lead, Opportunity


class Change(StrEnum):
    RECORD = "record"  # find the lead's record by email, or create it (with the owner, when it has one)
    OWNER = "owner"  # owner, status and stamps after an assignment or reassignment
    TOUCH = "touch"  # a touch as an activity (and the status it moved the lead to)
    STAGE = "stage"  # a status / lifecycle change, with a note
    DEAL = "deal"  # the deal / opportunity of an accepted SQL


# Which switch in `crm.write` turns each change off.
SWITCH = {
    Change.RECORD: "records",
    Change.OWNER: "owner",
    Change.TOUCH: "touches",
    Change.STAGE: "stages",
    Change.DEAL: "deals",
}


def record_from_source(config: Config, external_id: str | None) -> tuple[str, str] | None:
    """(id, type) of the record a lead came from, when it came from the configured CRM ("hubspot:123")."""
    if config.crm is None or not external_id:
        return None
    system, _, record_id = external_id.partition(":")
    if system != config.crm.system or not record_id:
        return None
    if system == "hubspot":
        return record_id, "contact"
    # Salesforce ids say their object: 00Q… a Lead, 003… a Contact.
    return record_id, "Contact" if record_id.startswith("003") else "Lead"


def _queue(session: Session, config: Config, change: Change, lead: Lead, now: datetime, **data) -> None:
    crm = config.crm
    if crm is None or not getattr(crm.write, SWITCH[change]):
        return
    delivery.send_to_crm(session, Target(crm.system), change, now=now, lead_id=lead.id, data=data)


def _state(lead: Lead) -> dict:
    return {"stage": str(lead.stage), "lifecycle": lead.lifecycle_stage}


def lead_created(session: Session, config: Config, lead: Lead, now: datetime) -> None:
    """A new lead: one write that finds or creates its record with the owner, status and stamps already in."""
    crm = config.crm
    if crm is None:
        return
    if lead.crm_record_id or not crm.write.records:
        owner_changed(session, config, lead, now, by="system")  # the record is known, or only looked up
        return
    owner = _owner_facts(lead, by="system") if crm.write.owner else {}
    _queue(session, config, Change.RECORD, lead, now, **owner, **_state(lead))


def owner_changed(session: Session, config: Config, lead: Lead, now: datetime, *, by: str) -> None:
    _queue(session, config, Change.OWNER, lead, now, **_owner_facts(lead, by=by), **_state(lead))


def _owner_facts(lead: Lead, *, by: str) -> dict:
    due = lead.first_touch_due_at.isoformat() if lead.first_touch_due_at and not lead.first_touch_at else None
    return {"owner": lead.owner_id, "by": by, "reason": lead.routing_reason, "first_touch_due": due}


def touched(
    session: Session,
    config: Config,
    lead: Lead,
    now: datetime,
    *,
    by: str,
    via: str,
    number: int,
    at: datetime | None = None,
    logged_in: str = "Slack",
    in_crm_already: bool = False,
) -> None:
    """A touch made `at` (default now) to log on the record; `number` 0 is a colleague's activity.

    `in_crm_already`: it was logged in this very CRM, so only the status it moved the lead to is written."""
    if in_crm_already and number != 1:
        return
    _queue(
        session, config, Change.TOUCH, lead, now, by=by, via=via, number=number, logged_in=logged_in,
        at=(at or now).isoformat(), activity=not in_crm_already, **_state(lead),
    )  # fmt: skip


def stage_changed(
    session: Session, config: Config, lead: Lead, now: datetime, *, by: str, reason: str | None = None, notes: str = ""
) -> None:
    """The status and lifecycle the lead has now, and a note saying who moved it there and why."""
    _queue(
        session, config, Change.STAGE, lead, now, by=by, reason=reason, notes=notes, at=now.isoformat(), **_state(lead)
    )


def deal_opened(session: Session, config: Config, lead: Lead, opportunity: Opportunity, now: datetime) -> None:
    _queue(session, config, Change.DEAL, lead, now, opportunity_id=opportunity.id, at=now.isoformat(), **_state(lead))
