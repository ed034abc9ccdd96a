"""Touches: what an SDR (or a manager for them) logs on a lead from the Contacted menu."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.crm import changes as crm
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.lifecycle.codes import ContactMethod
from bot.lifecycle.outcomes import LeadbotError, LeadNotFound, NotAllowed
from bot.lifecycle.permissions import may_act_on
from bot.sla import clocks as sla
from bot.sla.calendars import calendar_for
from store import leads as lead_store
from store.db import write_session
from store.models import Lead, Stage


@dataclass(frozen=True)
class TouchLogged:
    lead: Lead


@dataclass(frozen=True)
class AlreadyLogged:
    by: str
    via: str
    at: datetime


TouchResult = TouchLogged | NotAllowed | AlreadyLogged


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
                raise LeadbotError(f"Lead #{lead_id} is closed ({Stage(lead.stage).label}), so nothing was logged.")
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
            **(first_touch_facts(config, lead, now) if first else {}),
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
        crm.touched(session, config, lead, now, by=actor_id, via=via.value, number=number)
        delivery.send(session, Kind.ALERT_REDRAW, now=now, lead_id=lead_id)
        delivery.refresh_homes(session, [lead.owner_id], now)
        return TouchLogged(lead=lead)


def first_touch_facts(config: Config, lead: Lead, at: datetime) -> dict[str, float]:
    """How long the owner took, in real and in business time, for the reports (a late report never goes below 0)."""
    return time_to_touch(config, lead.owner_id, lead.assigned_at or lead.created_at, at)


def time_to_touch(config: Config, owner_id: str | None, since: datetime, at: datetime) -> dict[str, float]:
    return {
        "seconds_to_first_touch": max((at - since).total_seconds(), 0.0),
        "business_seconds_to_first_touch": calendar_for(config, owner_id).elapsed(since, at).total_seconds(),
    }
