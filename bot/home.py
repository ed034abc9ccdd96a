"""The App Home tab."""

from __future__ import annotations

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.config import Config
from bot.messages import home_view
from store import leads as lead_store
from store.db import read_session

HOME_LEAD_LIMIT = 40


def publish_home(engine: Engine, config: Config, clock: Clock, client: WebClient, user_id: str) -> None:
    with read_session(engine) as session:
        leads = lead_store.open_leads_for_owner(session, user_id, HOME_LEAD_LIMIT)
    member = config.member(user_id)
    name = member.name if member else "you"
    client.views_publish(user_id=user_id, view=home_view(name, leads, config.tz, clock.now()))
