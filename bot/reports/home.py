"""The App Home tab, by role: an SDR's queue, an AE's waiting SQLs, a manager's team today."""

from __future__ import annotations

from datetime import datetime, time

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse
from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.delivery.app_home import publish_without_going_back
from bot.slack import home
from store import leads as lead_store
from store import routing as rotation_store
from store import stats
from store.db import read_session

HOME_LEAD_LIMIT = 40


def home_for(engine: Engine, config: Config, now: datetime, user_id: str) -> dict:
    member = config.member(user_id)
    name = member.name if member else "you"
    with read_session(engine) as session:
        if member is not None and member.role == "ae":
            return home.ae_home_view(name, lead_store.sqls_waiting_for(session, user_id, HOME_LEAD_LIMIT), config)
        if member is not None and member.role == "manager":
            start = datetime.combine(now.astimezone(config.tz).date(), time(0), config.tz)
            today = stats.period_counts(session, start, now, stats.Scope()).total
            compliance = f"{100 * today.within_sla / today.leads:.0f}%" if today.leads else "n/a"
            text = (
                f"*Today*: {today.leads} leads in · SLA compliance {compliance} · "
                f"{today.breaches} breaches · {today.escalations} escalations"
            )
            return home.manager_home_view(
                name,
                text,
                lead_store.escalations_waiting(session, 20),
                rotation_store.away_members(session, now),
                config.tz,
                {m.slack_id: m.name for m in config.team},
            )
        return home.home_view(name, lead_store.open_leads_for_owner(session, user_id, HOME_LEAD_LIMIT), config.tz, now)


def publish_home(
    engine: Engine, config: Config, clock: Clock, client: WebClient, user_id: str, seen_hash: str | None = None
) -> SlackResponse | None:
    """Render a person's App Home now and publish it, never over a render made later (see app_home)."""
    return publish_without_going_back(
        engine, clock, client, user_id, lambda: home_for(engine, config, clock.now(), user_id), seen_hash
    )
