"""SQLModel tables, one package: import them from here. Times are aware UTC in Python, naive UTC in the database."""

from store.models.lead import ERASED_DOMAIN, Activity, Lead, Opportunity, Stage, TeamMember
from store.models.records import HomeView, SlackEventDelivery, StatsChange, StatsDay, TouchReceipt
from store.models.work import MemberStatus, OutboxMessage, RoutingState, Timer, TimerKind

__all__ = [
    "ERASED_DOMAIN",
    "Activity",
    "HomeView",
    "Lead",
    "MemberStatus",
    "Opportunity",
    "OutboxMessage",
    "RoutingState",
    "SlackEventDelivery",
    "Stage",
    "StatsChange",
    "StatsDay",
    "TeamMember",
    "Timer",
    "TimerKind",
    "TouchReceipt",
]
