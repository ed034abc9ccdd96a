"""What each SLA timer does when it fires: remind, record a breach, escalate, reassign, chase the AE."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.core.config import Config
from bot.core.durations import format_duration
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.sla.reassignment import manager_ids, pick_next_owner, reassign_lead
from bot.slack import alert, escalation
from store import leads as lead_store
from store.models import Lead, Stage, Timer, TimerKind


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
    delivery.refresh_homes(session, manager_ids(config), now)
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
