"""Touches logged where the work happens: a CRM, a sequencing tool, a Zapier step or a script.

The same rules as the Slack button (bot.lifecycle.touches): the owner's first touch stops the
first-touch clock, every touch starts a new idle period, and the DM is redrawn in place. What differs:
the touch carries its own time (a CRM reports a call after it happened), the person may be named by
Slack id, email or CRM owner id, a colleague's touch counts as activity only, and the sender's activity
id makes a replay change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.team import person_named
from bot.crm import changes as crm
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.lifecycle.codes import ContactMethod
from bot.lifecycle.outcomes import LeadbotError
from bot.lifecycle.permissions import may_act_on
from bot.lifecycle.touches import first_touch_facts
from bot.sla import clocks as sla
from store import leads as lead_store
from store import touch_receipts
from store.db import write_session
from store.models import Lead, Stage

# A sender's clock may run a little ahead of ours; more than this is a mistake, not skew.
CLOCK_SKEW = timedelta(minutes=2)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SourceName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.\- ]{1,32}$")]


class LeadRef(BaseModel):
    """Which lead: its Leadbot id, the person's email, or the record's id in the CRM."""

    model_config = ConfigDict(frozen=True)

    lead_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    email: Text | None = None
    crm_id: Text | None = None

    @model_validator(mode="after")
    def _one_given(self) -> LeadRef:
        if not (self.lead_id or self.email or self.crm_id):
            raise ValueError("say which lead: lead_id, email or crm_id")
        return self


class TouchIn(BaseModel):
    """A touch as the API takes it (and as the CRM webhooks are mapped to)."""

    model_config = ConfigDict(frozen=True)

    channel: ContactMethod
    by: Text  # a Slack user id, an email, or a CRM owner / user id
    at: AwareDatetime | None = None  # when it happened; absent: now
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None
    external_id: Text | None = None  # the sender's own id for this activity: a replay is logged once
    source: SourceName = "api"  # where it was logged: "hubspot", "salesforce", "outreach", ...


class TouchRefused(LeadbotError):
    """A touch that cannot be true (dated in the future, or before the lead existed): 422."""


class UnknownLead(LeadbotError):
    """No lead matches the reference: 404."""


@dataclass(frozen=True)
class TouchTaken:
    lead: Lead
    logged: str  # "first_touch", "touch" or "activity" (a colleague's, or on a closed lead)
    by_owner: bool
    duplicate: bool = False


def log_logged_touch(engine: Engine, config: Config, clock: Clock, ref: LeadRef, touch: TouchIn) -> TouchTaken:
    """Take in one touch logged outside Slack, in one transaction under the lead's lock."""
    now = clock.now()
    with write_session(engine) as session:
        lead = _find_lead(session, ref)
        if touch.external_id and touch_receipts.touch_received(session, touch.source, touch.external_id):
            return TouchTaken(lead=lead, logged="replay", by_owner=False, duplicate=True)
        at = _checked_time(touch, lead, now)
        if touch.external_id and not touch_receipts.remember_touch(
            session, touch.source, touch.external_id, lead.id, now
        ):
            return TouchTaken(lead=lead, logged="replay", by_owner=False, duplicate=True)  # a copy won the race
        member = person_named(config, touch.by)
        actor = member or "outside"
        by_owner = member is not None and may_act_on(lead, member, config)
        if not lead.is_open:
            _log(session, lead, at, actor, touch, by_owner=by_owner, lead_closed=True)
            return TouchTaken(lead=lead, logged="activity", by_owner=by_owner)
        logged = _owner_touch(session, config, lead, at, actor, touch) if by_owner else None
        if logged is None:
            _log(session, lead, at, actor, touch, by_owner=False)
            lead_store.record_activity(session, lead.id, at)
            session.refresh(lead)
        sla.restart_idle_clocks(session, lead, config, lead.last_activity_at or at)
        number = lead.touch_count if logged else 0  # 0: activity, not one of the owner's touches
        # A CRM's own activity is never copied back to it (only the status it moved the lead to).
        in_crm = touch.source.lower() == (config.crm.system if config.crm else None)
        crm.touched(session, config, lead, now, by=member or touch.by, via=touch.channel.value, number=number,
                    at=at, logged_in=touch.source, in_crm_already=in_crm)  # fmt: skip
        delivery.send(session, Kind.ALERT_REDRAW, now=now, lead_id=lead.id)
        delivery.refresh_homes(session, [lead.owner_id], now)
        return TouchTaken(lead=lead, logged=logged or "activity", by_owner=logged is not None)


def _find_lead(session, ref: LeadRef) -> Lead:
    lead_id = ref.lead_id or lead_store.find_lead_id(session, email=ref.email, crm_id=ref.crm_id)
    lead = lead_store.lock_lead(session, lead_id) if lead_id else None
    if lead is None:
        named = f"email {ref.email}" if ref.email else f"CRM id {ref.crm_id}"
        raise UnknownLead(f"No lead {f'#{ref.lead_id}' if ref.lead_id else 'with ' + named}: nothing was logged.")
    return lead


def _checked_time(touch: TouchIn, lead: Lead, now: datetime) -> datetime:
    at = touch.at or now
    if at > now + CLOCK_SKEW:
        raise TouchRefused(f"at {at.isoformat()} is in the future (now is {now.isoformat()})")
    if at < lead.created_at - CLOCK_SKEW:
        raise TouchRefused(f"at {at.isoformat()} is before lead #{lead.id} existed ({lead.created_at.isoformat()})")
    return min(at, now)


def _owner_touch(session, config: Config, lead: Lead, at: datetime, actor: str, touch: TouchIn) -> str | None:
    """The owner's (or a manager's for them) touch: counted like the Slack button's. None if the lead moved on."""
    number, was_new = lead.touch_count + 1, lead.stage == Stage.NEW
    if not lead_store.record_touch(session, lead.id, actor, touch.channel.value, at, number, source=touch.source):
        return None
    session.refresh(lead)
    first = number == 1
    facts = first_touch_facts(config, lead, at) if first else {}
    _log(session, lead, at, actor, touch, by_owner=True, number=number, first=first, **facts)
    if first:
        if was_new:
            lead_store.log_activity(
                session, lead.id, at, actor, "stage_changed", **{"from": Stage.NEW, "to": Stage.ATTEMPTING_CONTACT}
            )
        sla.stop_first_touch_clock(session, lead)
    return "first_touch" if first else "touch"


def _log(session, lead: Lead, at: datetime, actor: str, touch: TouchIn, **data) -> None:
    details = {"via": touch.channel.value, "logged_in": touch.source, **data}
    if actor == "outside":
        details["by"] = touch.by  # someone Leadbot's team list does not name
    if touch.note:
        details["note"] = touch.note
    if actor != lead.owner_id and data.get("by_owner"):
        details["on_behalf_of"] = lead.owner_id
    lead_store.log_activity(session, lead.id, at, actor, "touch", **details)
