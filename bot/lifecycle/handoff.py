"""The AE's decision on an SQL: Accept creates the opportunity; Reject gives the lead back to its SDR.

Every change is a guarded stage move (bot.lifecycle.stages), so a double click, two people clicking at once
or a click on an outdated message changes nothing twice; the loser is told what already happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.clock import Clock
from bot.core.config import Config
from bot.crm import changes as crm
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.lifecycle.codes import REJECT_REASONS
from bot.lifecycle.outcomes import Done, Invalid, LeadNotFound, NotAllowed, Outdated, outdated
from bot.lifecycle.permissions import may_decide
from bot.lifecycle.qualification import lock, redraw_alert
from bot.lifecycle.reasoned import ReasonedMove, move_with_reason
from bot.lifecycle.stages import Move, may, move_lead
from bot.sla import clocks as sla
from bot.slack import blocks, handoff
from store import handoff as handoff_store
from store import leads as lead_store
from store.db import read_session, write_session
from store.models import Lead, Opportunity


@dataclass(frozen=True)
class NeedsFields:
    """Accept must first ask the AE for the opportunity's required fields."""

    lead: Lead


DecisionResult = Done | Outdated | Invalid | NotAllowed | NeedsFields


def missing_opportunity_fields(lead: Lead, config: Config) -> list[str]:
    known = lead.qualification.get("fields", {})
    return [f.id for f in config.opportunity.required_fields if not known.get(f.id)]


def lead_for_decision(engine: Engine, config: Config, *, lead_id: int, actor_id: str) -> Lead | NotAllowed | Outdated:
    """Before opening Reject: the lead, if it is an SQL waiting and this person may decide."""
    with read_session(engine) as session:
        lead = lead_store.get_lead(session, lead_id)
    if lead is None:
        raise LeadNotFound(lead_id)
    if not may(Move.REJECT, lead.stage):
        return outdated(lead)
    if not may_decide(lead, actor_id, config):
        return NotAllowed(owner_id=lead.ae_id)
    return lead


def accept_sql(
    engine: Engine, config: Config, clock: Clock, *, lead_id: int, actor_id: str, extra: dict[str, str] | None = None
) -> DecisionResult:
    """Create the opportunity (required fields enforced), close the lead as Accepted, tell the SDR."""
    extra = {k: v.strip() for k, v in (extra or {}).items() if v and v.strip()}
    with write_session(engine) as session:
        lead = lock(session, lead_id)
        if not may_decide(lead, actor_id, config):
            return NotAllowed(owner_id=lead.ae_id)
        known = {**lead.qualification.get("fields", {}), **extra}
        missing = {
            f.id: f"{f.label} is required for the opportunity."
            for f in config.opportunity.required_fields
            if not known.get(f.id)
        }
        if missing and may(Move.ACCEPT, lead.stage):
            return Invalid(missing) if extra else NeedsFields(lead)
        now = clock.now()
        outcome = {"code": "accepted", "by": actor_id, "at": now.isoformat()}
        if not move_lead(session, lead_id, Move.ACCEPT, lifecycle_stage="opportunity", is_open=False, outcome=outcome):
            session.refresh(lead)
            return outdated(lead)
        session.refresh(lead)
        opportunity = _opportunity(lead, known, now)
        if not handoff_store.create_opportunity(session, opportunity):
            raise RuntimeError(f"lead {lead_id} moved to Accepted but already had an opportunity")
        lead_store.log_activity(session, lead_id, now, actor_id, "accepted", opportunity_id=opportunity.id)
        sla.stop_all_clocks(session, lead)
        crm.stage_changed(session, config, lead, now, by=actor_id)
        crm.deal_opened(session, config, lead, opportunity, now)
        _after_decision(session, lead, config, now, handoff.handoff_accepted_reply(lead, actor_id, opportunity.id))
        return Done(lead)


def _opportunity(lead: Lead, fields: dict[str, str], now: datetime) -> Opportunity:
    return Opportunity(
        lead_id=lead.id,
        name=f"{lead.company or lead.display_name}: new business",
        company=lead.company,
        domain=lead.domain,
        ae_id=lead.ae_id,
        sdr_id=lead.owner_id,
        source=lead.lead_source,
        created_at=now,
        fields={"notes": lead.qualification.get("notes"), **fields},
    )


def reject_sql(
    engine: Engine, config: Config, clock: Clock, *, lead_id: int, actor_id: str, reason: str, notes: str
) -> DecisionResult:
    """Send the lead back to its SDR as Engaged, with the reason in the DM and the thread."""

    def after(session: Session, lead: Lead, now: datetime) -> None:
        sla.stop_ae_response_clock(session, lead)
        sla.restart_idle_clocks(session, lead, config, now)  # back with the SDR: their idle clocks run again
        _after_decision(session, lead, config, now, handoff.handoff_rejected_reply(lead, actor_id))

    rule = ReasonedMove(
        move=Move.REJECT,
        reasons=REJECT_REASONS,
        logged_as="rejected",
        refusal=lambda lead, actor: None if may_decide(lead, actor, config) else NotAllowed(owner_id=lead.ae_id),
        values=lambda lead: {"lifecycle_stage": "mql" if lead.score >= config.scoring.mql_threshold else "lead"},
        then=after,
        outcome_extra={"rejected": True},
    )
    return move_with_reason(engine, config, clock, rule, lead_id=lead_id, actor_id=actor_id, reason=reason, notes=notes)


def _after_decision(session: Session, lead: Lead, config: Config, now, reply: blocks.SlackMessage) -> None:
    """Update the handoff message in place, reply in its thread, and redraw the SDR's DM."""
    updated = handoff.handoff(lead, config)
    delivery.send(session, Kind.HANDOFF_UPDATE, now=now, lead_id=lead.id, to=config.channels.handoffs, message=updated)
    delivery.send(session, Kind.HANDOFF_REPLY, now=now, lead_id=lead.id, message=reply)
    redraw_alert(session, lead, now)
