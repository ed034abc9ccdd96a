"""The app factory, and the composition root: the one place that wires the handlers into a running Leadbot."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.clock import Clock, SystemClock
from bot.core.config import Config
from bot.core.settings import Settings
from bot.crm.connect import connect_crm, tell_managers_once_per_cause
from bot.crm.target import CrmTarget
from bot.delivery import queue as delivery
from bot.delivery.kinds import RENDER, Kind, Target
from bot.delivery.relay import OutboxRelay, RetryPolicy
from bot.delivery.slack_target import SlackRenderers, SlackTarget
from bot.reports.home import home_for
from bot.reports.metrics import Metrics
from bot.routing.rotation import SDR_POOL
from bot.runtime.leadbot import Leadbot
from bot.slack.alert import alert_for
from bot.slack.client import make_web_client
from bot.slack.notices import undeliverable_notice
from handlers import register_listeners
from handlers.http import MAX_BODY_BYTES, register_routes
from store import routing as rotation_store
from store import team as team_store
from store.db import make_engine, write_session
from store.migrate import ensure_schema
from store.models import OutboxMessage

log = logging.getLogger(__name__)


def make_relay(
    engine: Engine,
    client: WebClient,
    clock: Clock,
    config: Config,
    *,
    metrics: Metrics | None = None,
    poll_every: float = 1.0,
) -> OutboxRelay:
    """The outbox relay with its targets: Slack, rendering the alert and the App Home when they are sent."""
    renderers = SlackRenderers(
        lead_alert=lambda lead, version: alert_for(lead, config, version=version).as_payload(),
        home=lambda user_id: home_for(engine, config, clock.now(), user_id),
    )
    slack = SlackTarget(
        engine,
        client,
        clock,
        renderers,
        handoffs_channel=config.channels.handoffs,
        retry=RetryPolicy(give_up_after=config.delivery.give_up_after),
        metrics=metrics,
    )
    return OutboxRelay(
        engine, clock, {Target.SLACK: slack}, report_refusal=_tell_managers(config), poll_every=poll_every
    )


# Rows a CRM sender claims at once: enough to fill a HubSpot batch update (100) in one call.
CRM_BATCH = 100


def make_crm_relay(
    engine: Engine, clock: Clock, settings: Settings, config: Config, *, poll_every: float = 1.0
) -> OutboxRelay | None:
    """The relay that writes to the configured CRM (None without one), with a retry window of its own."""
    connector = connect_crm(settings, config)
    if connector is None:
        return None
    target = CrmTarget(engine, clock, config, connector, RetryPolicy(give_up_after=config.crm.give_up_after))
    return OutboxRelay(
        engine,
        clock,
        {config.crm.system: target},
        report_refusal=tell_managers_once_per_cause(config),
        poll_every=poll_every,
        batch=CRM_BATCH,
    )


def _tell_managers(config: Config):
    """A message refused for good is told in the escalations channel once (never about a failed notice)."""

    def report(session: Session, row: OutboxMessage, error: str, now: datetime) -> None:
        target = row.payload.get("channel")
        if target == config.channels.escalations:
            return
        shown = row.payload.get("text") or ("the lead's alert" if row.payload.get(RENDER) else "")
        notice = undeliverable_notice(row.lead_id, target, error, shown)
        delivery.send(session, Kind.NOTE, now=now, to=config.channels.escalations, message=notice)

    return report


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
    engine = engine or make_engine(settings.database_url)
    prepare_database(engine, config)
    clock = clock or SystemClock()
    client = make_web_client(settings.slack_bot_token, settings.slack_api_url)
    metrics = Metrics(engine, clock, crm_target=config.crm.system if config.crm else None)
    leadbot = Leadbot(
        settings=settings,
        config=config,
        engine=engine,
        clock=clock,
        client=client,
        relay=make_relay(engine, client, clock, config, metrics=metrics, poll_every=relay_poll_every),
        metrics=metrics,
        crm_relay=make_crm_relay(engine, clock, settings, config, poll_every=relay_poll_every),
        crm=connect_crm(settings, config),
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


def create_web_app(leadbot: Leadbot) -> Flask:
    """The HTTP face: Slack's request URL, the intake endpoints, the health check and the metrics."""
    web = Flask("leadbot")
    web.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    register_routes(web, leadbot)
    return web
