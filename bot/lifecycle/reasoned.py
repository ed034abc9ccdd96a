"""A move that needs a reason code (Disqualify, Reject): one transition, checked, recorded and logged alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.clock import Clock
from bot.core.config import Config
from bot.crm import changes as crm
from bot.lifecycle.outcomes import Done, Invalid, LeadNotFound, NotAllowed, Outdated, outdated
from bot.lifecycle.stages import Move, move_lead
from store import leads as lead_store
from store.db import write_session
from store.models import Lead


def reason_errors(reason: str, notes: str, reasons: dict[str, str]) -> Invalid | None:
    """A reason code must be one of the list; Other needs notes saying why."""
    if reason not in reasons:
        return Invalid({"reason": "Pick a reason."})
    if reason == "other" and not notes.strip():
        return Invalid({"notes": "Say why, when the reason is Other."})
    return None


@dataclass(frozen=True)
class ReasonedMove:
    move: Move
    reasons: dict[str, str]
    logged_as: str  # the activity it appends: "disqualified", "rejected"
    refusal: Callable[[Lead, str], NotAllowed | None]  # who may not (lead, actor) → why, or None
    values: Callable[[Lead], dict[str, Any]]  # what else the move sets on the lead
    then: Callable[[Session, Lead, datetime], None]  # clocks and messages, in the same transaction
    outcome_extra: dict[str, Any] | None = None


def move_with_reason(
    engine: Engine,
    config: Config,
    clock: Clock,
    rule: ReasonedMove,
    *,
    lead_id: int,
    actor_id: str,
    reason: str,
    notes: str,
) -> Done | Invalid | NotAllowed | Outdated:
    if problem := reason_errors(reason, notes, rule.reasons):
        return problem
    with write_session(engine) as session:
        lead = lead_store.lock_lead(session, lead_id)
        if lead is None:
            raise LeadNotFound(lead_id)
        if refused := rule.refusal(lead, actor_id):
            return refused
        now = clock.now()
        outcome = {
            "code": reason,
            "label": rule.reasons[reason],
            "notes": notes.strip(),
            "by": actor_id,
            "at": now.isoformat(),
            **(rule.outcome_extra or {}),
        }
        if not move_lead(session, lead_id, rule.move, outcome=outcome, last_activity_at=now, **rule.values(lead)):
            session.refresh(lead)
            return outdated(lead)
        session.refresh(lead)
        lead_store.log_activity(session, lead_id, now, actor_id, rule.logged_as, reason=reason, notes=notes.strip())
        rule.then(session, lead, now)
        crm.stage_changed(session, config, lead, now, by=actor_id, reason=rule.reasons[reason], notes=notes.strip())
        return Done(lead)
