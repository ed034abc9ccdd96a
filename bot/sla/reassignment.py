"""Reassignment: the next SDR after the current owner (never the same one), or the fallback owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.core.config import Config
from bot.crm import changes as crm
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.routing.rotation import facts_of, pool_key_for, reassignment_owner
from bot.sla.clocks import first_touch_due, start_clocks, stop_all_clocks
from bot.slack import escalation
from store import leads as lead_store
from store import routing as rotation_store
from store.models import Lead


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
    tell_crm: bool = True,
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
        rotation_store.credit_back(session, pool_key_for(config, facts_of(lead, config)), old_owner)
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
    if tell_crm:  # not when the change came from the CRM: writing it back would only echo
        crm.owner_changed(session, config, lead, now, by=actor)

    if old_owner and old_owner != new_owner:
        # Queued before the new owner's alert, so it resolves to the old owner's thread when sent.
        notice = escalation.reassigned_away(lead, old_owner, new_owner, why)
        delivery.send(session, Kind.ALERT_REPLY, now=now, lead_id=lead.id, message=notice)
    delivery.send(session, Kind.ALERT, now=now, lead_id=lead.id, to=new_owner)
    summary = escalation.reassignment_notice(lead, old_owner, new_owner, why)
    delivery.send(session, Kind.NOTE, now=now, lead_id=lead.id, to=config.channels.escalations, message=summary)
    delivery.refresh_homes(session, [old_owner, new_owner, *manager_ids(config)], now)
    return Reassignment(old_owner=old_owner, new_owner=new_owner, reason=reason)


# -- firing ------------------------------------------------------------------------------------------
def manager_ids(config: Config) -> list[str]:
    return [m.slack_id for m in config.members_with_role("manager")]
