"""The escalation's buttons: a manager reassigns the lead now, or a manager or an SDR takes it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.lifecycle.outcomes import LeadNotFound, NotAllowed
from bot.sla.reassignment import pick_next_owner, reassign_lead
from bot.slack.blocks import escape
from bot.slack.escalation import escalation as escalation_message
from store import leads as lead_store
from store.db import write_session
from store.models import Lead


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
