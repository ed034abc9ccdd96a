"""PostgreSQL unreachable for a while: intake answers 503 with a clear body (so the sender retries) instead of
hanging or losing the lead, and Leadbot recovers by itself when the database is back."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy.engine import make_url

from bot.devtools.standin.requests import post
from store.models import Lead
from tests.conftest import INTAKE_TOKEN, count, start_bot, stop_bot
from tests.faults import CuttableProxy

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")


@pytest.fixture
def proxied_bot(request, fake_slack, clock):
    real = make_url(request.getfixturevalue("postgres_url"))
    # A clean database, as the other PostgreSQL tests get it.
    request.getfixturevalue("engine")
    proxy = CuttableProxy(real.host or "127.0.0.1", real.port or 5432)
    url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    leadbot, server = start_bot(url, fake_slack, clock)
    yield leadbot, server.url, proxy
    stop_bot(leadbot, server)
    proxy.stop()


def _post_lead(url: str, email: str) -> tuple[int, dict, dict]:
    status, raw, headers = post(
        f"{url}/leads",
        json.dumps({"email": email}),
        {"Content-Type": "application/json", "Authorization": f"Bearer {INTAKE_TOKEN}"},
    )
    return status, json.loads(raw) if raw else {}, headers


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_intake_answers_503_while_the_database_is_down_and_recovers_by_itself(database_url, proxied_bot, engine):
    leadbot, url, proxy = proxied_bot
    assert _post_lead(url, "before@acme.com")[0] == 201

    proxy.cut()
    started = time.monotonic()
    status, body, headers = _post_lead(url, "during@acme.com")
    took = time.monotonic() - started

    assert status == 503, body
    assert body["error"] == "database_unavailable" and "nothing was stored" in body["detail"]
    assert int(headers["Retry-After"]) > 0
    assert took < 15  # answered, not hung (bounded by connect_timeout)
    with pytest.raises(urllib.error.HTTPError) as health:
        urllib.request.urlopen(f"{url}/healthz", timeout=15)
    assert health.value.code == 503

    proxy.restore()
    status, body, _ = _post_lead(url, "after@acme.com")
    assert status == 201, body
    assert _post_lead(url, "during@acme.com")[0] == 201  # the sender's retry is a new lead, stored once

    emails = sorted(lead.email for lead in _leads(engine))
    assert emails == ["after@acme.com", "before@acme.com", "during@acme.com"]
    assert count(engine, Lead) == 3


def _leads(engine):
    from sqlmodel import select

    from store.db import read_session

    with read_session(engine) as session:
        return session.exec(select(Lead)).all()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_terminated_mid_intake_is_retried_once_and_the_lead_stored_once(database_url, engine, bot):
    from sqlalchemy import text

    # The database drops the connection in the middle of the first lead's transaction (as a restart or an
    # admin's pg_terminate_backend does), once: a sequence, because nothing transactional survives that.
    with engine.begin() as connection:
        connection.execute(text("CREATE SEQUENCE fault_once"))
        connection.execute(
            text(
                "CREATE FUNCTION terminate_first_insert() RETURNS trigger AS $$ BEGIN "
                "IF nextval('fault_once') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER fault_once BEFORE INSERT ON lead FOR EACH ROW EXECUTE FUNCTION terminate_first_insert()"
            )
        )
    try:
        status, body = bot.post_lead({"email": "mid@acme.com"})

        assert status == 201, body
        assert [lead.email for lead in _leads(engine)] == ["mid@acme.com"]
        with engine.connect() as connection:
            assert connection.execute(text("SELECT last_value FROM fault_once")).scalar() == 2  # it did fire
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER fault_once ON lead"))
            connection.execute(text("DROP FUNCTION terminate_first_insert()"))
            connection.execute(text("DROP SEQUENCE fault_once"))
