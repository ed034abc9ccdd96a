"""The speed-to-lead ladder's clocks: which SLA timers a lead has, and when each is due.

First touch due (with a reminder before it) → escalation to managers after `escalate_after` with no
activity → reassignment after `reassign_after` → the fallback after `max_reassignments`. An SQL
waiting for its AE gets a reminder and then an escalation. Every timer belongs to one idle period of
one lead; activity starts a new period, so each rung fires at most once per period. What a timer does
when it fires is in bot.sla.firing.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.core.config import Config
from bot.core.durations import IdleLimit
from bot.sla.calendars import calendar_for
from store import timers as timer_store
from store.models import Lead, Stage, TimerKind


def first_touch_due(lead: Lead, config: Config, assigned_at: datetime) -> datetime:
    return first_touch_due_for(config, lead.owner_id, lead.hot, assigned_at)


def first_touch_due_for(config: Config, owner_id: str | None, hot: bool, assigned_at: datetime) -> datetime:
    return calendar_for(config, owner_id).add(assigned_at, config.sla.first_touch_for(hot))


# -- scheduling, called inside the transaction that changes the lead --------------------------------
def start_clocks(session: Session, lead: Lead, config: Config, now: datetime) -> None:
    """A lead has a new owner: first-touch timers (if untouched) and the idle clocks."""
    _schedule(session, lead, owner_deadlines(lead, config, now), now)


def owner_deadlines(lead: Lead, config: Config, now: datetime) -> dict[str, datetime]:
    """The timers start_clocks schedules (kind → due time); an import schedules a batch's in one statement."""
    calendar = calendar_for(config, lead.owner_id)
    return _idle_deadlines(lead, config, now, calendar) | _first_touch_deadlines(lead, config, now, calendar)


def restart_idle_clocks(session: Session, lead: Lead, config: Config, now: datetime) -> None:
    """Activity on the lead: a new idle period, so escalation and reassignment count from now.

    Activity that is not the owner's first touch (a colleague's call) leaves the first-touch clock running:
    its rungs still pending move into the new period (one already fired stays fired).
    """
    timer_store.cancel(session, lead.id, TimerKind.IDLE)
    lead.idle_period += 1
    lead.last_activity_at = now
    session.add(lead)
    if lead.first_touch_at is None:
        timer_store.carry_to_period(session, lead.id, TimerKind.FIRST_TOUCH, lead.idle_period)
    if lead.stage == Stage.SQL:  # an SQL waits on its AE's clock; the SDR's idle clocks start again on Reject
        return
    _schedule(session, lead, _idle_deadlines(lead, config, now, calendar_for(config, lead.owner_id)), now)


def stop_first_touch_clock(session: Session, lead: Lead) -> None:
    timer_store.cancel(session, lead.id, TimerKind.FIRST_TOUCH)


def stop_all_clocks(session: Session, lead: Lead) -> None:
    """A closed lead (disqualified, accepted) has no timers."""
    timer_store.cancel(session, lead.id)


def start_ae_response_clock(session: Session, lead: Lead, config: Config, now: datetime) -> None:
    """The handoff starts the AE's clock: a reminder, then an escalation at `sla.ae_response`."""
    calendar = calendar_for(config, lead.ae_id)
    due = {TimerKind.AE_ESCALATE: calendar.add(now, config.sla.ae_response)}
    if config.sla.reminder_at is not None:
        due[TimerKind.AE_REMINDER] = calendar.add(now, config.sla.ae_response * config.sla.reminder_at)
    _schedule(session, lead, due, now)


def stop_ae_response_clock(session: Session, lead: Lead) -> None:
    timer_store.cancel(session, lead.id, TimerKind.AE)


def _first_touch_deadlines(lead: Lead, config: Config, now: datetime, calendar) -> dict[str, datetime]:
    """The reminder and the breach of an untouched lead (none once it is touched)."""
    if lead.first_touch_at is not None or lead.first_touch_due_at is None:
        return {}
    due = {TimerKind.FIRST_TOUCH_DUE: lead.first_touch_due_at}
    if config.sla.reminder_at is not None:
        sla = config.sla.first_touch_for(lead.hot)
        due[TimerKind.FIRST_TOUCH_REMINDER] = calendar.add(lead.assigned_at or now, sla * config.sla.reminder_at)
    return due


def _idle_deadlines(lead: Lead, config: Config, now: datetime, calendar) -> dict[str, datetime]:
    """The idle rungs of the lead's stage: New's 2h / 24h by default, a worked stage's own (sla.stages)."""
    since = lead.last_activity_at or now
    escalate, reassign = config.sla.idle_limits(lead.stage)
    due = {}
    if escalate is not None:
        due[TimerKind.ESCALATE] = _after(calendar, since, escalate)
    if reassign is not None:
        due[TimerKind.REASSIGN] = _after(calendar, since, reassign)
    return due


def _after(calendar, since: datetime, limit: IdleLimit) -> datetime:
    if limit.business_days:
        return calendar.add_working_days(since, limit.business_days)
    return calendar.add(since, limit.duration)


def _schedule(session: Session, lead: Lead, due: dict[str, datetime], now: datetime) -> None:
    timer_store.schedule(session, lead_id=lead.id, period=lead.idle_period, due=due, now=now)
