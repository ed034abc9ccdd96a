"""Qualification and the SDR → AE handoff: Engaged, Qualify as SQL, Disqualify, Accept, Reject.

Every change is a guarded stage transition, so a double click, two people clicking at once or a
click on an outdated message changes nothing twice; the loser is told what already happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.clock import Clock
from bot.core.config import Config
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.lifecycle.touches import LeadNotFound, NotAllowed, may_act_on
from bot.routing.rotation import next_in_rotation, ordinal
from bot.sla import clocks as sla
from bot.slack import blocks, handoff
from bot.slack.ids import DISQUALIFY_REASONS, REJECT_REASONS
from store import handoff as handoff_store
from store import leads as lead_store
from store import routing as rotation_store
from store.db import read_session, write_session
from store.models import Lead, Opportunity, Stage

AE_POOL = "ae"
WORKING = (Stage.NEW, Stage.ATTEMPTING_CONTACT, Stage.ENGAGED, Stage.MQL)


@dataclass(frozen=True)
class Done:
    lead: Lead


@dataclass(frozen=True)
class Outdated:
    """The lead moved on since the message was drawn; says where it is now."""

    stage: str
    detail: str


@dataclass(frozen=True)
class Invalid:
    errors: dict[str, str] = field(default_factory=dict)  # block_id → message, shown on the modal


@dataclass(frozen=True)
class NeedsFields:
    """Accept must first ask the AE for the opportunity's required fields."""

    lead: Lead


HandoffResult = Done | Outdated | Invalid | NotAllowed | NeedsFields


def _load(session: Session, lead_id: int, *, lock: bool = True) -> Lead:
    """The lead, locked for the transition that follows (or only read, to check before opening a modal)."""
    lead = lead_store.lock_lead(session, lead_id) if lock else lead_store.get_lead(session, lead_id)
    if lead is None:
        raise LeadNotFound(lead_id)
    return lead


def _outdated(lead: Lead) -> Outdated:
    label = Stage.LABELS.get(lead.stage, lead.stage)
    if lead.stage == Stage.ACCEPTED:
        detail = f"<@{lead.outcome.get('by', lead.ae_id)}> already accepted it"
    elif lead.stage == Stage.DISQUALIFIED:
        detail = f"<@{lead.outcome.get('by')}> already disqualified it ({lead.outcome.get('label', '')})"
    elif lead.stage == Stage.SQL:
        detail = f"it is already an SQL waiting for <@{lead.ae_id}>"
    else:
        detail = f"it is now {label}"
    return Outdated(stage=lead.stage, detail=detail)


def _redraw_alert(session: Session, lead: Lead, now) -> None:
    """The SDR's DM, and the App Home of the SDR and of the AE, show the lead as it is now."""
    delivery.send(session, Kind.ALERT_REDRAW, now=now, lead_id=lead.id)
    delivery.refresh_homes(session, [lead.owner_id, lead.ae_id], now)


# -- SDR actions ---------------------------------------------------------------------------------------
def mark_engaged(engine: Engine, config: Config, clock: Clock, *, lead_id: int, actor_id: str) -> HandoffResult:
    with write_session(engine) as session:
        lead = _load(session, lead_id)
        if not may_act_on(lead, actor_id, config):
            return NotAllowed(owner_id=lead.owner_id)
        now = clock.now()
        if not handoff_store.move_stage(
            session,
            lead_id,
            from_stages=(Stage.NEW, Stage.ATTEMPTING_CONTACT),
            stage=Stage.ENGAGED,
            last_activity_at=now,
        ):
            session.refresh(lead)
            return _outdated(lead)
        session.refresh(lead)
        lead_store.log_activity(
            session, lead_id, now, actor_id, "stage_changed", **{"from": Stage.ATTEMPTING_CONTACT, "to": Stage.ENGAGED}
        )
        sla.stop_first_touch_clock(session, lead)
        sla.restart_idle_clocks(session, lead, config, now)
        _redraw_alert(session, lead, now)
        return Done(lead)


def qualification_errors(config: Config, notes: str, fields: dict[str, str]) -> dict[str, str]:
    errors = {} if notes.strip() else {"notes": "Qualification notes are required for an SQL."}
    for item in config.qualification.fields:
        if item.required and not (fields.get(item.id) or "").strip():
            errors[item.id] = f"{item.label} is required for an SQL."
    return errors


def qualify_as_sql(
    engine: Engine, config: Config, clock: Clock, *, lead_id: int, actor_id: str, notes: str, fields: dict[str, str]
) -> HandoffResult:
    """Move the lead to SQL, route it to an AE, post the handoff, and start the AE's clock."""
    errors = qualification_errors(config, notes, fields)
    if errors:
        return Invalid(errors)
    with write_session(engine) as session:
        lead = _load(session, lead_id)
        if not may_act_on(lead, actor_id, config):
            return NotAllowed(owner_id=lead.owner_id)
        now = clock.now()
        qualification = {
            "notes": notes.strip(),
            "fields": {k: v.strip() for k, v in fields.items() if v},
            "by": actor_id,
            "at": now.isoformat(),
        }
        if not handoff_store.move_stage(
            session,
            lead_id,
            from_stages=WORKING,
            stage=Stage.SQL,
            lifecycle_stage="sql",
            qualification=qualification,
            outcome={},
            last_activity_at=now,
            handoff_ts=None,
        ):
            session.refresh(lead)
            return _outdated(lead)
        session.refresh(lead)
        # Routed only once the transition is ours, so a late click never uses up an AE's turn.
        ae_id, ae_reason = _route_to_ae(session, lead, config)
        lead.ae_id = ae_id
        session.add(lead)
        lead_store.log_activity(
            session, lead_id, now, actor_id, "stage_changed", **{"from": "working", "to": Stage.SQL}
        )
        lead_store.log_activity(session, lead_id, now, "system", "handed_off", ae=ae_id, reason=ae_reason)
        sla.stop_all_clocks(session, lead)  # the SDR's clocks stop while the AE decides
        sla.start_ae_response_clock(session, lead, config, now)
        posted = handoff.handoff(lead, config, ae_reason)
        delivery.send(session, Kind.HANDOFF, now=now, lead_id=lead_id, to=config.channels.handoffs, message=posted)
        _redraw_alert(session, lead, now)
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


def _reason_errors(reason: str, notes: str, reasons: dict[str, str]) -> Invalid | None:
    """A reason code must be one of the list; Other needs notes saying why."""
    if reason not in reasons:
        return Invalid({"reason": "Pick a reason."})
    if reason == "other" and not notes.strip():
        return Invalid({"notes": "Say why, when the reason is Other."})
    return None


def _outcome(reason: str, notes: str, reasons: dict[str, str], actor_id: str, now, **extra) -> dict:
    return {
        "code": reason,
        "label": reasons[reason],
        "notes": notes.strip(),
        "by": actor_id,
        "at": now.isoformat(),
        **extra,
    }


def disqualify(
    engine: Engine, config: Config, clock: Clock, *, lead_id: int, actor_id: str, reason: str, notes: str
) -> HandoffResult:
    if problem := _reason_errors(reason, notes, DISQUALIFY_REASONS):
        return problem
    with write_session(engine) as session:
        lead = _load(session, lead_id)
        if not may_act_on(lead, actor_id, config):
            return NotAllowed(owner_id=lead.owner_id)
        now = clock.now()
        outcome = _outcome(reason, notes, DISQUALIFY_REASONS, actor_id, now)
        if not handoff_store.move_stage(
            session,
            lead_id,
            from_stages=WORKING,
            stage=Stage.DISQUALIFIED,
            is_open=False,
            outcome=outcome,
            last_activity_at=now,
        ):
            session.refresh(lead)
            return _outdated(lead)
        session.refresh(lead)
        lead_store.log_activity(session, lead_id, now, actor_id, "disqualified", reason=reason, notes=notes.strip())
        sla.stop_all_clocks(session, lead)
        _redraw_alert(session, lead, now)
        return Done(lead)


# -- AE decisions -------------------------------------------------------------------------------------
def may_decide(lead: Lead, actor_id: str, config: Config) -> bool:
    """Only the assigned AE, or a manager."""
    return actor_id == lead.ae_id or config.is_manager(actor_id)


def missing_opportunity_fields(lead: Lead, config: Config) -> list[str]:
    known = lead.qualification.get("fields", {})
    return [f.id for f in config.opportunity.required_fields if not known.get(f.id)]


def lead_for_decision(engine: Engine, config: Config, *, lead_id: int, actor_id: str) -> Lead | NotAllowed | Outdated:
    """Before opening Reject: the lead, if it is an SQL waiting and this person may decide."""
    with read_session(engine) as session:
        lead = _load(session, lead_id, lock=False)
        if lead.stage != Stage.SQL:
            return _outdated(lead)
        if not may_decide(lead, actor_id, config):
            return NotAllowed(owner_id=lead.ae_id)
        return lead


def accept_sql(
    engine: Engine, config: Config, clock: Clock, *, lead_id: int, actor_id: str, extra: dict[str, str] | None = None
) -> HandoffResult:
    """Create the opportunity (required fields enforced), close the lead as Accepted, tell the SDR."""
    extra = {k: v.strip() for k, v in (extra or {}).items() if v and v.strip()}
    with write_session(engine) as session:
        lead = _load(session, lead_id)
        if not may_decide(lead, actor_id, config):
            return NotAllowed(owner_id=lead.ae_id)
        known = {**lead.qualification.get("fields", {}), **extra}
        missing = {
            f.id: f"{f.label} is required for the opportunity."
            for f in config.opportunity.required_fields
            if not known.get(f.id)
        }
        if missing and lead.stage == Stage.SQL:
            return Invalid(missing) if extra else NeedsFields(lead)
        now = clock.now()
        outcome = {"code": "accepted", "by": actor_id, "at": now.isoformat()}
        if not handoff_store.move_stage(
            session,
            lead_id,
            from_stages=(Stage.SQL,),
            stage=Stage.ACCEPTED,
            lifecycle_stage="opportunity",
            is_open=False,
            outcome=outcome,
        ):
            session.refresh(lead)
            return _outdated(lead)
        session.refresh(lead)
        opportunity = Opportunity(
            lead_id=lead_id,
            name=f"{lead.company or lead.display_name}: new business",
            company=lead.company,
            domain=lead.domain,
            ae_id=lead.ae_id,
            sdr_id=lead.owner_id,
            source=lead.lead_source,
            created_at=now,
            fields={"notes": lead.qualification.get("notes"), **known},
        )
        if not handoff_store.create_opportunity(session, opportunity):
            raise RuntimeError(f"lead {lead_id} moved to Accepted but already had an opportunity")
        lead_store.log_activity(session, lead_id, now, actor_id, "accepted", opportunity_id=opportunity.id)
        sla.stop_all_clocks(session, lead)
        _after_decision(session, lead, config, now, handoff.handoff_accepted_reply(lead, actor_id, opportunity.id))
        return Done(lead)


def reject_sql(
    engine: Engine, config: Config, clock: Clock, *, lead_id: int, actor_id: str, reason: str, notes: str
) -> HandoffResult:
    """Send the lead back to its SDR as Engaged, with the reason in the DM and the thread."""
    if problem := _reason_errors(reason, notes, REJECT_REASONS):
        return problem
    with write_session(engine) as session:
        lead = _load(session, lead_id)
        if not may_decide(lead, actor_id, config):
            return NotAllowed(owner_id=lead.ae_id)
        now = clock.now()
        outcome = _outcome(reason, notes, REJECT_REASONS, actor_id, now, rejected=True)
        if not handoff_store.move_stage(
            session,
            lead_id,
            from_stages=(Stage.SQL,),
            stage=Stage.ENGAGED,
            lifecycle_stage="mql" if lead.score >= config.scoring.mql_threshold else "lead",
            outcome=outcome,
            last_activity_at=now,
        ):
            session.refresh(lead)
            return _outdated(lead)
        session.refresh(lead)
        lead_store.log_activity(session, lead_id, now, actor_id, "rejected", reason=reason, notes=notes.strip())
        sla.stop_ae_response_clock(session, lead)
        sla.restart_idle_clocks(session, lead, config, now)  # back with the SDR: their idle clocks run again
        _after_decision(session, lead, config, now, handoff.handoff_rejected_reply(lead, actor_id))
        return Done(lead)


def _after_decision(session: Session, lead: Lead, config: Config, now, reply: blocks.SlackMessage) -> None:
    """Update the handoff message in place, reply in its thread, and redraw the SDR's DM."""
    updated = handoff.handoff(lead, config)
    delivery.send(session, Kind.HANDOFF_UPDATE, now=now, lead_id=lead.id, to=config.channels.handoffs, message=updated)
    delivery.send(session, Kind.HANDOFF_REPLY, now=now, lead_id=lead.id, message=reply)
    _redraw_alert(session, lead, now)


def lead_for_sdr_modal(
    engine: Engine, config: Config, *, lead_id: int, actor_id: str, stages: tuple[str, ...]
) -> Lead | NotAllowed | Outdated:
    """Before opening Qualify or Disqualify: the lead, if this person may act on it from its stage."""
    with read_session(engine) as session:
        lead = _load(session, lead_id, lock=False)
        if not may_act_on(lead, actor_id, config):
            return NotAllowed(owner_id=lead.owner_id)
        if not lead.is_open or lead.stage not in stages:
            return _outdated(lead)
        return lead
