"""What the SDR decides about a lead: Engaged, Qualify as SQL (routed to an AE), Disqualify.

Every change is a guarded stage move (bot.lifecycle.stages), so a double click, two people clicking at once
or a click on an outdated message changes nothing twice; the loser is told what already happened.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.clock import Clock
from bot.core.config import Config
from bot.crm import changes as crm
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.lifecycle.codes import DISQUALIFY_REASONS
from bot.lifecycle.outcomes import Done, Invalid, LeadNotFound, NotAllowed, Outdated, outdated
from bot.lifecycle.permissions import may_act_on
from bot.lifecycle.reasoned import ReasonedMove, move_with_reason
from bot.lifecycle.stages import Move, may, move_lead
from bot.routing.rotation import next_in_rotation, ordinal
from bot.sla import clocks as sla
from bot.slack import handoff
from store import handoff as handoff_store
from store import leads as lead_store
from store import routing as rotation_store
from store.db import read_session, write_session
from store.models import Lead, Stage

AE_POOL = "ae"

SdrResult = Done | Outdated | Invalid | NotAllowed


def lock(session: Session, lead_id: int) -> Lead:
    """The lead, locked for the move that follows."""
    lead = lead_store.lock_lead(session, lead_id)
    if lead is None:
        raise LeadNotFound(lead_id)
    return lead


def redraw_alert(session: Session, lead: Lead, now: datetime) -> None:
    """The SDR's DM, and the App Home of the SDR and of the AE, show the lead as it is now."""
    delivery.send(session, Kind.ALERT_REDRAW, now=now, lead_id=lead.id)
    delivery.refresh_homes(session, [lead.owner_id, lead.ae_id], now)


def lead_for_sdr_modal(
    engine: Engine, config: Config, *, lead_id: int, actor_id: str, move: Move
) -> Lead | NotAllowed | Outdated:
    """Before opening Qualify or Disqualify: the lead, if this person may make that move on it now."""
    with read_session(engine) as session:
        lead = lead_store.get_lead(session, lead_id)
    if lead is None:
        raise LeadNotFound(lead_id)
    if not may_act_on(lead, actor_id, config):
        return NotAllowed(owner_id=lead.owner_id)
    if not lead.is_open or not may(move, lead.stage):
        return outdated(lead)
    return lead


def mark_engaged(engine: Engine, config: Config, clock: Clock, *, lead_id: int, actor_id: str) -> SdrResult:
    with write_session(engine) as session:
        lead = lock(session, lead_id)
        if not may_act_on(lead, actor_id, config):
            return NotAllowed(owner_id=lead.owner_id)
        now, was = clock.now(), lead.stage
        if not move_lead(session, lead_id, Move.ENGAGE, last_activity_at=now):
            session.refresh(lead)
            return outdated(lead)
        session.refresh(lead)
        lead_store.log_activity(session, lead_id, now, actor_id, "stage_changed", **{"from": was, "to": lead.stage})
        sla.stop_first_touch_clock(session, lead)
        sla.restart_idle_clocks(session, lead, config, now)
        crm.stage_changed(session, config, lead, now, by=actor_id)
        redraw_alert(session, lead, now)
        return Done(lead)


def qualification_errors(config: Config, notes: str, fields: dict[str, str]) -> dict[str, str]:
    errors = {} if notes.strip() else {"notes": "Qualification notes are required for an SQL."}
    for item in config.qualification.fields:
        if item.required and not (fields.get(item.id) or "").strip():
            errors[item.id] = f"{item.label} is required for an SQL."
    return errors


def qualify_as_sql(
    engine: Engine, config: Config, clock: Clock, *, lead_id: int, actor_id: str, notes: str, fields: dict[str, str]
) -> SdrResult:
    """Move the lead to SQL, route it to an AE, post the handoff, and start the AE's clock."""
    errors = qualification_errors(config, notes, fields)
    if errors:
        return Invalid(errors)
    with write_session(engine) as session:
        lead = lock(session, lead_id)
        if not may_act_on(lead, actor_id, config):
            return NotAllowed(owner_id=lead.owner_id)
        now, was = clock.now(), lead.stage
        qualification = {
            "notes": notes.strip(),
            "fields": {k: v.strip() for k, v in fields.items() if v},
            "by": actor_id,
            "at": now.isoformat(),
        }
        values = {"lifecycle_stage": "sql", "outcome": {}, "last_activity_at": now, "handoff_ts": None}
        if not move_lead(session, lead_id, Move.QUALIFY, qualification=qualification, **values):
            session.refresh(lead)
            return outdated(lead)
        session.refresh(lead)
        # Routed only once the move is ours, so a late click never uses up an AE's turn.
        ae_id, ae_reason = _route_to_ae(session, lead, config)
        lead.ae_id = ae_id
        session.add(lead)
        lead_store.log_activity(session, lead_id, now, actor_id, "stage_changed", **{"from": was, "to": Stage.SQL})
        lead_store.log_activity(session, lead_id, now, "system", "handed_off", ae=ae_id, reason=ae_reason)
        sla.stop_all_clocks(session, lead)  # the SDR's clocks stop while the AE decides
        sla.start_ae_response_clock(session, lead, config, now)
        posted = handoff.handoff(lead, config, ae_reason)
        delivery.send(session, Kind.HANDOFF, now=now, lead_id=lead_id, to=config.channels.handoffs, message=posted)
        crm.stage_changed(session, config, lead, now, by=actor_id, notes=notes.strip())
        redraw_alert(session, lead, now)
        return Done(lead)


def _route_to_ae(session: Session, lead: Lead, config: Config) -> tuple[str, str]:
    """The AE of an earlier opportunity from the same company, else round robin over active AEs, else the fallback."""
    active = {m.slack_id for m in config.members_with_role("ae") if m.active}
    if lead.domain:
        owner = handoff_store.opportunity_owner_for_domain(session, lead.domain)
        if owner in active:
            return owner, f"owns the earlier opportunity at {lead.domain}"
    state = rotation_store.lock_rotation(session, AE_POOL)
    picked = next_in_rotation([m.slack_id for m in config.members_with_role("ae")], active, state.last_slack_id)
    if picked is None:
        fallback = config.member(config.routing.fallback)
        return fallback.slack_id, f"no AE is available, so the fallback owner ({fallback.name})"
    rotation_store.record_turn(session, state, picked[0])
    return picked[0], f"round robin over active AEs: {ordinal(picked[1])} of {len(active)}"


def disqualify(
    engine: Engine, config: Config, clock: Clock, *, lead_id: int, actor_id: str, reason: str, notes: str
) -> SdrResult:
    """Close the lead as Disqualified, with the reason; its clocks stop."""

    def after(session: Session, lead: Lead, now: datetime) -> None:
        sla.stop_all_clocks(session, lead)
        redraw_alert(session, lead, now)

    rule = ReasonedMove(
        move=Move.DISQUALIFY,
        reasons=DISQUALIFY_REASONS,
        logged_as="disqualified",
        refusal=lambda lead, actor: None if may_act_on(lead, actor, config) else NotAllowed(owner_id=lead.owner_id),
        values=lambda lead: {"is_open": False},
        then=after,
    )
    return move_with_reason(engine, config, clock, rule, lead_id=lead_id, actor_id=actor_id, reason=reason, notes=notes)
