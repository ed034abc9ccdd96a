"""The speed-to-lead ladder: when each SLA timer is due, and what happens when it fires.

First touch due (with a reminder before it) → escalation to managers after `escalate_after` with no
activity → reassignment after `reassign_after` → the fallback after `max_reassignments`. An SQL
waiting for its AE gets a reminder and then an escalation. Every timer belongs to one idle period of
one lead; activity starts a new period, so each rung fires at most once per period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.core.business_hours import AlwaysOpen, BusinessCalendar
from bot.core.config import Config
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.routing.rotation import facts_of, pool_key_for, reassignment_owner
from bot.slack import alert, escalation
from store import leads as lead_store
from store import routing as rotation_store
from store import timers as timer_store
from store.models import Lead, Stage, Timer, TimerKind

WEEKDAY_NUMBERS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def calendar_for(config: Config, member_id: str | None) -> BusinessCalendar | AlwaysOpen:
    """Whose clock: the business hours in the rep's time zone, else the configured or team zone."""
    hours = config.sla.business_hours
    if hours is None:
        return AlwaysOpen()
    member = config.member(member_id) if member_id else None
    zone = hours.timezone or (member.timezone if member and member.timezone else None) or config.timezone
    return _calendar(hours, zone)


_calendars: dict[tuple, BusinessCalendar] = {}


def _calendar(hours, zone: str) -> BusinessCalendar:
    # Built once per (hours, zone): the holiday table behind it is worth keeping.
    key = (tuple(hours.days), hours.open, hours.close, zone, hours.holidays, hours.holidays_subdivision)
    if key not in _calendars:
        from zoneinfo import ZoneInfo

        _calendars[key] = BusinessCalendar(
            tz=ZoneInfo(zone),
            open_at=hours.open,
            close_at=hours.close,
            days=frozenset(WEEKDAY_NUMBERS[d] for d in hours.days),
            holiday_country=hours.holidays,
            holiday_subdivision=hours.holidays_subdivision,
        )
    return _calendars[key]


def first_touch_due(lead: Lead, config: Config, assigned_at: datetime) -> datetime:
    return calendar_for(config, lead.owner_id).add(assigned_at, config.sla.first_touch_for(lead.hot))


# -- scheduling, called inside the transaction that changes the lead --------------------------------
def start_clocks(session: Session, lead: Lead, config: Config, now: datetime) -> None:
    """A lead has a new owner: first-touch timers (if untouched) and the idle clocks."""
    calendar = calendar_for(config, lead.owner_id)
    due = _idle_deadlines(lead, config, now, calendar)
    if lead.first_touch_at is None and lead.first_touch_due_at is not None:
        if config.sla.reminder_at is not None:
            sla = config.sla.first_touch_for(lead.hot)
            due[TimerKind.FIRST_TOUCH_REMINDER] = calendar.add(lead.assigned_at or now, sla * config.sla.reminder_at)
        due[TimerKind.FIRST_TOUCH_DUE] = lead.first_touch_due_at
    _schedule(session, lead, due, now)


def restart_idle_clocks(session: Session, lead: Lead, config: Config, now: datetime) -> None:
    """Activity on the lead: a new idle period, so escalation and reassignment count from now."""
    timer_store.cancel(session, lead.id, TimerKind.IDLE)
    lead.idle_period += 1
    lead.last_activity_at = now
    session.add(lead)
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


def _idle_deadlines(lead: Lead, config: Config, now: datetime, calendar) -> dict[str, datetime]:
    since = lead.last_activity_at or now
    return {
        TimerKind.ESCALATE: calendar.add(since, config.sla.escalate_after),
        TimerKind.REASSIGN: calendar.add(since, config.sla.reassign_after),
    }


def _schedule(session: Session, lead: Lead, due: dict[str, datetime], now: datetime) -> None:
    timer_store.schedule(session, lead_id=lead.id, period=lead.idle_period, due=due, now=now)


# -- reassignment ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reassignment:
    old_owner: str | None
    new_owner: str
    reason: str


def pick_next_owner(
    session: Session, lead: Lead, config: Config, now: datetime, *, automatic: bool = True
) -> tuple[str, str]:
    """The next available SDR after the current owner (never the same one), or the fallback.

    `max_reassignments` bounds the sweep's moves; a manager's Reassign now looks for an SDR whatever the count.
    """
    fallback = config.member(config.routing.fallback)
    if automatic and lead.reassign_count >= config.sla.max_reassignments:
        return fallback.slack_id, (
            f"Reassigned {lead.reassign_count} times already, so it went to the fallback owner ({fallback.name})"
        )
    picked = reassignment_owner(session, config, lead.owner_id, now)
    if picked is None:
        return fallback.slack_id, f"No other SDR is available, so it went to the fallback owner ({fallback.name})"
    return picked, "Reassigned to the next SDR in the rotation"


def reassign_lead(
    session: Session,
    lead: Lead,
    config: Config,
    now: datetime,
    *,
    actor: str,
    why: str,
    to: tuple[str, str],
) -> Reassignment:
    """Give the lead to `to` (owner, reason), tell the old owner, the new owner and the managers, restart the clocks.

    The rotation pointer is left where it is: a reassigned lead does not use up the new owner's
    regular turn, so the old owner's turn is in effect credited back to the pool.
    """
    old_owner = lead.owner_id
    new_owner, reason = to
    stop_all_clocks(session, lead)
    if old_owner and old_owner != new_owner:
        # Credit the old owner's turn back: the lead they lost no longer counts against their share.
        rotation_store.credit_back(session, pool_key_for(config, facts_of(lead)), old_owner)
    lead.owner_id, lead.routing_reason = new_owner, f"{reason} ({why})"
    lead.reassign_count += 1
    lead.assigned_at = now
    lead.claimable = False  # an owner was chosen: no longer offered in the unclaimed channel
    # The alert location stays until the new owner's alert is posted (the outbox keeps per-lead order),
    # so replies queued before this change still land in the old owner's thread.
    lead.idle_period += 1
    lead.last_activity_at = now
    if lead.first_touch_at is None:
        lead.first_touch_due_at = first_touch_due(lead, config, now)
    session.add(lead)
    lead_store.log_activity(
        session, lead.id, now, actor, "reassigned", **{"from": old_owner, "to": new_owner, "why": why}
    )
    start_clocks(session, lead, config, now)

    if old_owner and old_owner != new_owner:
        # Queued before the new owner's alert, so it resolves to the old owner's thread when sent.
        notice = escalation.reassigned_away(lead, old_owner, new_owner, why)
        delivery.send(session, Kind.ALERT_REPLY, now=now, lead_id=lead.id, message=notice)
    delivery.send(session, Kind.ALERT, now=now, lead_id=lead.id, to=new_owner)
    summary = escalation.reassignment_notice(lead, old_owner, new_owner, why)
    delivery.send(session, Kind.NOTE, now=now, lead_id=lead.id, to=config.channels.escalations, message=summary)
    delivery.refresh_homes(session, [old_owner, new_owner, *_manager_ids(config)], now)
    return Reassignment(old_owner=old_owner, new_owner=new_owner, reason=reason)


# -- firing ------------------------------------------------------------------------------------------
def _manager_ids(config: Config) -> list[str]:
    return [m.slack_id for m in config.members_with_role("manager")]


def fire_timer(session: Session, timer: Timer, config: Config, now: datetime) -> str:
    """Act on one claimed timer inside its claim's transaction. Returns what was done, for logs and tests."""
    lead = lead_store.lock_lead(session, timer.lead_id)
    if lead is None or not lead.is_open:
        return "skipped: lead closed"
    if timer.kind in TimerKind.FIRST_TOUCH:
        if lead.first_touch_at is not None:
            return "skipped: already touched"
        if timer.period != lead.idle_period:
            return "skipped: superseded"
        return _first_touch(session, lead, timer.kind, config, now)
    if timer.kind in TimerKind.IDLE:
        if timer.period != lead.idle_period:
            return "skipped: activity since"
        if timer.kind == TimerKind.ESCALATE:
            return _escalate(session, lead, config, now)
        return _reassign_idle(session, lead, config, now)
    if timer.kind in TimerKind.AE:
        if lead.stage != Stage.SQL or lead.ae_id is None:
            return "skipped: no SQL waiting"
        return _ae_response(session, lead, timer.kind, config, now)
    return f"skipped: unknown kind {timer.kind}"


def _ago(delta: timedelta) -> str:
    from bot.core.durations import format_duration

    return format_duration(delta)


def _first_touch(session: Session, lead: Lead, kind: str, config: Config, now: datetime) -> str:
    if kind == TimerKind.FIRST_TOUCH_REMINDER:
        note = alert.first_touch_reminder(lead, now)
        delivery.send(session, Kind.ALERT_REPLY, now=now, lead_id=lead.id, message=note)
        lead_store.log_activity(session, lead.id, now, "system", "reminded", sla="first_touch")
        return "reminded"
    sla = config.sla.first_touch_for(lead.hot)
    lead_store.log_activity(
        session,
        lead.id,
        now,
        "system",
        "sla_breached",
        sla="first_touch",
        due_at=lead.first_touch_due_at.isoformat(),
        owner=lead.owner_id,
    )
    note = alert.first_touch_breached(lead, sla)
    delivery.send(session, Kind.ALERT_REPLY, now=now, lead_id=lead.id, message=note)
    return "breached"


def _reassign_idle(session: Session, lead: Lead, config: Config, now: datetime) -> str:
    """`reassign_after` with no activity: the next SDR; a lead already with the fallback stays and is escalated."""
    idle = now - (lead.last_activity_at or lead.created_at)
    new_owner, reason = pick_next_owner(session, lead, config, now)
    if new_owner == lead.owner_id:  # the fallback owner, with nobody else to move it to
        return _escalate(session, lead, config, now, stays_with_fallback=True)
    reassign_lead(
        session, lead, config, now, actor="system", why=f"no activity for {_ago(idle)}", to=(new_owner, reason)
    )
    return "reassigned"


def _escalate(session: Session, lead: Lead, config: Config, now: datetime, stays_with_fallback: bool = False) -> str:
    idle = now - (lead.last_activity_at or lead.created_at)
    lead_store.log_activity(
        session, lead.id, now, "system", "escalated", owner=lead.owner_id, idle_seconds=int(idle.total_seconds())
    )
    message = escalation.escalation(lead, _ago(idle), stays_with_fallback=stays_with_fallback)
    delivery.send(session, Kind.ESCALATION, now=now, lead_id=lead.id, to=config.channels.escalations, message=message)
    delivery.refresh_homes(session, _manager_ids(config), now)
    return "escalated"


def _ae_response(session: Session, lead: Lead, kind: str, config: Config, now: datetime) -> str:
    if kind == TimerKind.AE_REMINDER:
        note = escalation.ae_reminder(lead)
        delivery.send(session, Kind.NOTE, now=now, lead_id=lead.id, to=lead.ae_id, message=note)
        lead_store.log_activity(session, lead.id, now, "system", "reminded", sla="ae_response", ae=lead.ae_id)
        return "ae_reminded"
    lead_store.log_activity(session, lead.id, now, "system", "sla_breached", sla="ae_response", ae=lead.ae_id)
    note = escalation.ae_escalation(lead, config.sla.ae_response)
    delivery.send(session, Kind.NOTE, now=now, lead_id=lead.id, to=config.channels.escalations, message=note)
    return "ae_escalated"
