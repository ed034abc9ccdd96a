"""The unclaimed channel: the first eligible rep to click Claim owns the lead (atomically)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.crm import changes as crm
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.lifecycle.outcomes import LeadNotFound
from bot.routing.rotation import skip_reasons
from bot.sla import clocks as sla
from bot.slack import claims
from store import leads as lead_store
from store.db import write_session
from store.models import Lead


@dataclass(frozen=True)
class Claimed:
    lead: Lead


@dataclass(frozen=True)
class CannotClaim:
    why: str


@dataclass(frozen=True)
class AlreadyClaimed:
    owner_id: str


def claim_lead(engine: Engine, config: Config, clock: Clock, *, lead_id: int, actor_id: str):
    member = config.member(actor_id)
    if member is None or member.role != "sdr":
        return CannotClaim("only SDRs on the Leadbot team can claim leads")
    with write_session(engine) as session:
        now = clock.now()
        skipped = skip_reasons(session, config, [member], now, respect_hours=False)
        if skipped:
            return CannotClaim(f"you are {skipped[actor_id]}")
        lead = lead_store.lock_lead(session, lead_id)
        if lead is None:
            raise LeadNotFound(lead_id)
        holder = lead.owner_id
        if not lead_store.claim(session, lead_id, actor_id, f"Claimed from the unclaimed channel by {member.name}"):
            session.refresh(lead)
            return AlreadyClaimed(owner_id=lead.owner_id)
        session.refresh(lead)
        sla.stop_all_clocks(session, lead)
        lead.assigned_at, lead.last_activity_at = now, now
        lead.idle_period += 1
        if lead.first_touch_at is None:
            lead.first_touch_due_at = sla.first_touch_due(lead, config, now)
        session.add(lead)
        lead_store.log_activity(session, lead_id, now, actor_id, "claimed", **{"from": holder})
        sla.start_clocks(session, lead, config, now)
        crm.owner_changed(session, config, lead, now, by=actor_id)
        # The holder hears it in their alert's thread before the claimer's alert takes over the ref.
        notice = claims.claimed_away(lead, actor_id)
        delivery.send(session, Kind.ALERT_REPLY, now=now, lead_id=lead_id, message=notice)
        delivery.send(session, Kind.ALERT, now=now, lead_id=lead_id, to=actor_id)
        offer = claims.claim_offer(lead, claimed_by=actor_id)
        delivery.send(
            session, Kind.CLAIM_OFFER_UPDATE, now=now, lead_id=lead_id, to=config.channels.unclaimed, message=offer
        )
        delivery.refresh_homes(session, [holder, actor_id], now)
        return Claimed(lead)
