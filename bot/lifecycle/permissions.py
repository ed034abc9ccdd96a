"""Who may act on a lead: its owner (or a manager for them); on an SQL, its AE (or a manager)."""

from __future__ import annotations

from bot.core.config import Config
from store.models import Lead


def may_act_on(lead: Lead, actor_id: str, config: Config) -> bool:
    """Only the lead's owner, or a manager on the owner's behalf."""
    return actor_id == lead.owner_id or config.is_manager(actor_id)


def may_decide(lead: Lead, actor_id: str, config: Config) -> bool:
    """Only the assigned AE, or a manager."""
    return actor_id == lead.ae_id or config.is_manager(actor_id)
