"""Shared fixtures: a real database (SQLite file; PostgreSQL when TEST_DATABASE_URL is set), the
fake Slack Web API on 127.0.0.1, and the real Leadbot behind waitress on a free port."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from sqlalchemy import func, text
from sqlmodel import SQLModel, select

from bot.core.clock import ManualClock
from bot.core.config import Config, parse_config
from bot.core.settings import Settings
from bot.devtools.standin.hubspot_api import FakeHubSpot
from bot.devtools.standin.hubspot_people import hubspot_v3_headers
from bot.devtools.standin.requests import post, select_action, send_block_action
from bot.devtools.standin.salesforce_api import FakeSalesforce
from bot.devtools.standin.web_api import FakeSlack
from bot.runtime.app import Leadbot, build_leadbot
from bot.runtime.server import ServerThread, make_http_server
from bot.sla.sweep import sweep
from store.db import make_engine, read_session
from store.migrate import upgrade
from store.models import Activity, Lead, OutboxMessage

FIXTURES = Path(__file__).parent / "fixtures"
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
INTAKE_TOKEN = "test-intake-token"
HUBSPOT_SECRET = "test-hubspot-client-secret"
START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York

# The smallest useful file, exactly as the README gives it.
MINIMAL_CONFIG = """\
timezone: America/New_York
channels: {escalations: C0ESCALATE, handoffs: C0HANDOFF}
team:
  - {slack_id: U0SDR1, name: Sam Rivera, role: sdr}
  - {slack_id: U0SDR2, name: Ana Silva, role: sdr}
  - {slack_id: U0AE1, name: Alex Kim, role: ae}
  - {slack_id: U0MGR1, name: Morgan Lee, role: manager}
sla: {first_touch: 15m, first_touch_hot: 5m, escalate_after: 2h, reassign_after: 24h, ae_response: 4h}
scoring: {mql_threshold: 40}
routing: {fallback: U0MGR1}
"""


def make_config(**overrides) -> Config:
    data = yaml.safe_load(MINIMAL_CONFIG)
    data.update(overrides)
    return parse_config(data, "test config")


# -- databases ------------------------------------------------------------------------------------
DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file, copied for each test: a fresh database without re-running Alembic."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ["TEST_DATABASE_URL"]
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path, sqlite_template) -> str:
    if request.param == "sqlite":
        path = tmp_path / "leadbot.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    with engine.begin() as connection:
        tables = ", ".join(table.name for table in SQLModel.metadata.sorted_tables)  # every table, new ones too
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def count(engine, model) -> int:
    with read_session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def eventually(predicate, timeout: float = 5.0):
    """For state that lands in the database after an answer (the relay marks rows sent after Slack replies)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.01)


def no_retry_sleeps(client) -> None:
    """slack-sdk waits in real time between its retries (up to 3.5 s for two); the tests' clock is not real."""
    for handler in client.retry_handlers:
        handler.interval_calculator = FixedValueRetryIntervalCalculator(0)


def stored_nothing(engine) -> bool:
    return count(engine, Lead) == 0 and count(engine, Activity) == 0 and count(engine, OutboxMessage) == 0


def hubspot_headers(url: str, body: str, timestamp_ms: int, secret: str = HUBSPOT_SECRET) -> dict:
    return hubspot_v3_headers(secret, "POST", url, body, timestamp_ms)


@pytest.fixture(scope="session")
def key_pair(tmp_path_factory):
    """An RSA key for Salesforce's JWT bearer flow: (private key file, public key PEM for the stand-in)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("salesforce") / "leadbot.key"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return str(path), public


# -- the CRM stand-ins, with a user for each team member ----------------------------------------------------
CRM_PEOPLE = {
    "U0SDR1": "sam@acme.test",
    "U0SDR2": "ana@acme.test",
    "U0AE1": "alex@acme.test",
    "U0MGR1": "morgan@acme.test",
}
HUBSPOT_TOKEN = "pat-na1-test-token"
SALESFORCE_CLIENT_ID, SALESFORCE_USERNAME = "3MVG9leadbot.test", "integration@acme.test"


@pytest.fixture
def hubspot():
    standin = FakeHubSpot(access_token=HUBSPOT_TOKEN).start()
    for email in CRM_PEOPLE.values():
        standin.add_owner(email)
    yield standin
    standin.stop()


@pytest.fixture
def salesforce(key_pair):
    standin = FakeSalesforce(
        client_id=SALESFORCE_CLIENT_ID, username=SALESFORCE_USERNAME, public_key_pem=key_pair[1]
    ).start()
    for email in CRM_PEOPLE.values():
        standin.add_user(email)
    yield standin
    standin.stop()


# -- Slack and the running bot ----------------------------------------------------------------------
@pytest.fixture
def fake_slack():
    slack = FakeSlack(bot_token="xoxb-test-token").start()
    yield slack
    slack.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@dataclass
class RunningBot:
    leadbot: Leadbot
    url: str
    slack: FakeSlack
    clock: ManualClock

    @property
    def engine(self):
        return self.leadbot.engine

    def post_lead(
        self, lead: dict | str | bytes, token: str | None = INTAKE_TOKEN, content_type: str = "application/json"
    ) -> tuple[int, dict]:
        body = lead if isinstance(lead, str | bytes) else json.dumps(lead)
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        status, raw, _ = post(f"{self.url}/leads", body, headers)
        return status, json.loads(raw) if raw else {}

    def post_json(self, path: str, body: dict | str | bytes, token: str | None = INTAKE_TOKEN) -> tuple[int, dict]:
        """POST a JSON body to one of Leadbot's endpoints with the intake bearer token (None: without)."""
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        status, raw, _ = post(f"{self.url}{path}", body if isinstance(body, str | bytes) else json.dumps(body), headers)
        return status, json.loads(raw) if raw else {}

    def alert_for(self, lead_id: int) -> dict:
        """The lead's DM as the fake Slack holds it now (waits for it to arrive)."""

        def find():
            return next(
                (
                    m
                    for m in self.slack.messages.values()
                    if f"Lead #{lead_id} " in json.dumps(m["blocks"]) and not m["thread_ts"]
                ),
                None,
            )

        return self.slack.wait_for(find)

    def click_contacted(
        self,
        lead_id: int,
        user_id: str,
        via: str = "call",
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        option_value: str | None = None,
        extra_headers: dict | None = None,
    ) -> int:
        alert = self.alert_for(lead_id)
        actions = next(b for b in alert["blocks"] if b["type"] == "actions")
        menu = actions["elements"][0]
        option = next(o for o in menu["options"] if json.loads(o["value"])["via"] == via)
        if option_value is not None:
            option = {**option, "value": option_value}
        action = select_action(menu["action_id"], actions["block_id"], option, menu["placeholder"]["text"])
        return self.send_action(user_id, action, alert, timestamp=timestamp, secret=secret, extra_headers=extra_headers)

    def send_action(
        self,
        user_id: str,
        action: dict,
        message: dict,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        extra_headers: dict | None = None,
    ) -> int:
        return send_block_action(
            url=self.url,
            signing_secret=secret,
            user_id=user_id,
            action=action,
            message=message,
            response_url=self.slack.response_url(user_id),
            timestamp=timestamp,
            extra_headers=extra_headers,
        )

    def sweep(self, advance: timedelta | None = None):
        """Move the clock, run the SLA sweep once at the new now, and wake the relay."""
        if advance:
            self.clock.advance(advance)
        result = sweep(self.engine, self.leadbot.config, self.clock.now())
        self.leadbot.relay.kick()
        return result

    def channel_messages(self, channel: str, count: int) -> list[dict]:
        """Wait until `channel` holds `count` top-level messages (not thread replies) and return them."""
        return self.slack.wait_for(
            lambda: len(found := [m for m in self.slack.messages_in(channel) if not m["thread_ts"]]) >= count and found
        )

    def thread_replies(self, lead_id: int, count: int) -> list[dict]:
        alert = self.alert_for(lead_id)
        return self.slack.wait_for(
            lambda: (
                len(found := [m for m in self.slack.messages_in(alert["channel"]) if m["thread_ts"] == alert["ts"]])
                >= count
                and found
            )
        )

    def ephemeral_for(self, user_id: str) -> list[dict]:
        """What was answered to `user_id` through the response_url of their click."""
        return [r for r in self.slack.responses if r.get("_key") == user_id]


def start_bot(
    database_url: str,
    fake_slack: FakeSlack,
    clock: ManualClock,
    config: Config | None = None,
    sweep: bool = False,
    slack_api_url: str | None = None,
    background: bool = True,
    **more_settings,
):
    settings = Settings(
        slack_bot_token=fake_slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_api_url or fake_slack.base_url,
        database_url=database_url,
        intake_token=INTAKE_TOKEN,
        hubspot_client_secret=HUBSPOT_SECRET,
        **more_settings,
    )
    leadbot = build_leadbot(settings, config or make_config(), clock=clock, relay_poll_every=0.05)
    leadbot.start(sweep=sweep, background=background)
    server = ServerThread(make_http_server(leadbot.web, host="127.0.0.1", port=0, threads=8)).start()
    return leadbot, server


def stop_bot(leadbot: Leadbot, server: ServerThread) -> None:
    server.stop()
    leadbot.stop()
    leadbot.engine.dispose()


@pytest.fixture
def bot_config() -> Config:
    """Override in a test module to run the bot with another config."""
    return make_config()


@pytest.fixture
def bot(database_url, fake_slack, clock, bot_config):
    leadbot, server = start_bot(database_url, fake_slack, clock, bot_config)
    yield RunningBot(leadbot, server.url, fake_slack, clock)
    stop_bot(leadbot, server)
