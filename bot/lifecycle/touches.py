"""What SDRs (and managers for them) do to a lead from Slack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.sla import clocks as sla
from bot.sla.calendars import calendar_for
from bot.sla.reassignment import pick_next_owner, reassign_lead
from bot.slack.blocks import escape
from bot.slack.escalation import escalation as escalation_message
from bot.slack.ids import ContactMethod
from store import leads as lead_store
from store.db import write_session
from store.models import Lead, Stage


class LeadbotError(Exception):
    """A domain error with a message fit to show the person who clicked."""

    def __init__(self, user_message: str):
        super().__init__(user_message)
        self.user_message = user_message


class LeadNotFound(LeadbotError):
    def __init__(self, lead_id: int):
        super().__init__(f"Lead #{lead_id} no longer exists, so nothing was changed.")


@dataclass(frozen=True)
class TouchLogged:
    lead: Lead


@dataclass(frozen=True)
class NotAllowed:
    owner_id: str


@dataclass(frozen=True)
class AlreadyLogged:
    by: str
    via: str
    at: datetime


TouchResult = TouchLogged | NotAllowed | AlreadyLogged


def may_act_on(lead: Lead, actor_id: str, config: Config) -> bool:
    """Only the lead's owner, or a manager on the owner's behalf."""
    return actor_id == lead.owner_id or config.is_manager(actor_id)


def log_touch(
    engine: Engine, config: Config, clock: Clock, *, lead_id: int, actor_id: str, via: ContactMethod, number: int
) -> TouchResult:
    """Log touch `number` (1 = the first touch) by the owner, or by a manager for the owner.

    Any touch is activity: it restarts the idle clocks. The first also stops the first-touch clock
    and moves a New lead to Attempting Contact.
    """
    with write_session(engine) as session:
        lead = lead_store.lock_lead(session, lead_id)
        if lead is None:
            raise LeadNotFound(lead_id)
        if not may_act_on(lead, actor_id, config):
            return NotAllowed(owner_id=lead.owner_id)
        now, was_new = clock.now(), lead.stage == Stage.NEW
        if not lead_store.record_touch(session, lead_id, actor_id, via.value, now, number):
            session.refresh(lead)
            if not lead.is_open:
                raise LeadbotError(f"Lead #{lead_id} is closed ({Stage.LABELS[lead.stage]}), so nothing was logged.")
            if lead.last_touch_at is None:
                raise LeadbotError("That menu is out of date, so nothing was logged. Use the latest lead message.")
            return AlreadyLogged(by=lead.last_touch_by, via=lead.last_touch_via, at=lead.last_touch_at)
        session.refresh(lead)
        first = number == 1
        lead_store.log_activity(
            session,
            lead_id,
            now,
            actor_id,
            "touch",
            via=via.value,
            number=number,
            first=first,
            on_behalf_of=lead.owner_id if actor_id != lead.owner_id else None,
            seconds_to_first_touch=(now - (lead.assigned_at or lead.created_at)).total_seconds() if first else None,
            business_seconds_to_first_touch=calendar_for(config, lead.owner_id)
            .elapsed(lead.assigned_at or lead.created_at, now)
            .total_seconds()
            if first
            else None,
        )
        if first:
            if was_new:  # a lead already past New (Engaged, an SQL) keeps its stage
                lead_store.log_activity(
                    session,
                    lead_id,
                    now,
                    actor_id,
                    "stage_changed",
                    **{"from": Stage.NEW, "to": Stage.ATTEMPTING_CONTACT},
                )
            sla.stop_first_touch_clock(session, lead)
        sla.restart_idle_clocks(session, lead, config, now)
        delivery.send(session, Kind.ALERT_REDRAW, now=now, lead_id=lead_id)
        delivery.refresh_homes(session, [lead.owner_id], now)
        return TouchLogged(lead=lead)


@dataclass(frozen=True)
class Reassigned:
    lead: Lead
    new_owner: str


@dataclass(frozen=True)
class AlreadyHandled:
    owner_id: str


@dataclass(frozen=True)
class ManagersOnly:
    pass


@dataclass(frozen=True)
class NobodyElse:
    """Reassign now found no other SDR available: the lead stays where it is."""

    owner_id: str


EscalationResult = Reassigned | AlreadyHandled | ManagersOnly | NotAllowed | NobodyElse


def act_on_escalation(
    engine: Engine, config: Config, clock: Clock, *, lead_id: int, period: int, actor_id: str, take: bool
) -> EscalationResult:
    """Reassign now (managers) or Take it (the clicking manager or SDR becomes the owner).

    The button carries the idle period it was raised for: once anyone has acted, or the lead moved
    on, a late click finds a newer period and changes nothing.
    """
    member = config.member(actor_id)
    if take and (member is None or member.role not in ("sdr", "manager")):
        return NotAllowed(owner_id=config.routing.fallback)
    if not take and not config.is_manager(actor_id):
        return ManagersOnly()
    with write_session(engine) as session:
        lead = lead_store.lock_lead(session, lead_id)
        if lead is None:
            raise LeadNotFound(lead_id)
        if lead.idle_period != period or not lead.is_open:
            return AlreadyHandled(owner_id=lead.owner_id)
        now, escalated_owner = clock.now(), lead.owner_id
        why = (
            f"taken from an escalation by {member.name}" if take else f"reassigned from an escalation by {member.name}"
        )
        if take:
            to = (actor_id, f"Taken by {member.name}")
        else:
            to = pick_next_owner(session, lead, config, now, automatic=False)
            if to[0] == lead.owner_id:
                return NobodyElse(owner_id=lead.owner_id)
        change = reassign_lead(session, lead, config, now, actor=actor_id, why=why, to=to)
        resolved = escalation_message(
            lead, owner=escalated_owner, resolved=f"Now owned by <@{change.new_owner}> ({escape(why)})."
        )
        delivery.send(
            session, Kind.ESCALATION_UPDATE, now=now, lead_id=lead_id, to=config.channels.escalations, message=resolved
        )
        return Reassigned(lead=lead, new_owner=change.new_owner)
