"""The app factory: one Leadbot wires config, store, clock, Slack client, Bolt app and relay."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.core.clock import Clock, SystemClock
from bot.core.config import Config
from bot.core.settings import Settings
from bot.delivery.relay import OutboxRelay
from bot.reports.metrics import Metrics
from bot.routing.rotation import SDR_POOL
from bot.sla.sweep import SweepScheduler
from bot.slack.client import make_web_client
from store import routing as rotation_store
from store import team as team_store
from store.db import make_engine, write_session
from store.migrate import ensure_schema

log = logging.getLogger(__name__)


@dataclass
class Leadbot:
    settings: Settings
    config: Config
    engine: Engine
    clock: Clock
    client: WebClient
    relay: OutboxRelay
    metrics: Metrics
    bolt: App = field(init=False)
    web: Flask = field(init=False)
    sweeper: SweepScheduler | None = None

    def start(self, *, sweep: bool = False) -> None:
        """Start the outbox relay, and with `sweep` the SLA sweep on its APScheduler interval."""
        self.relay.start()
        if sweep:
            self.sweeper = SweepScheduler(
                self.engine, self.config, self.clock, after_firing=self.relay.kick, metrics=self.metrics
            )
            self.sweeper.start()

    def stop(self) -> None:
        if self.sweeper:
            self.sweeper.stop()
        self.relay.stop()


def prepare_database(engine: Engine, config: Config) -> None:
    """Check the schema, then make the team table and rotation rows match the config."""
    ensure_schema(engine)
    with write_session(engine) as session:
        team_store.sync_team(session, [(m.slack_id, m.name, m.role, m.active) for m in config.team])
        rotation_store.ensure_pools(session, [SDR_POOL])


def build_leadbot(
    settings: Settings,
    config: Config,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    relay_poll_every: float = 1.0,
) -> Leadbot:
    # Imported here so that `bot` can be imported without Slack listeners (no import cycle).
    from bot.runtime.web import create_web_app
    from handlers import register_listeners

    engine = engine or make_engine(settings.database_url)
    prepare_database(engine, config)
    clock = clock or SystemClock()
    client = make_web_client(settings.slack_bot_token, settings.slack_api_url)
    metrics = Metrics(engine, clock)
    leadbot = Leadbot(
        settings=settings,
        config=config,
        engine=engine,
        clock=clock,
        client=client,
        relay=OutboxRelay(
            engine,
            client,
            clock,
            poll_every=relay_poll_every,
            config=config,
            metrics=metrics,
        ),
        metrics=metrics,
    )
    leadbot.bolt = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "socket-mode-only",
        # No auth.test at construction: the bot starts (and intake works) even while Slack is unreachable.
        token_verification_enabled=False,
        logger=logging.getLogger("leadbot.slack"),
    )
    register_listeners(leadbot.bolt, leadbot)
    leadbot.web = create_web_app(leadbot)
    return leadbot
