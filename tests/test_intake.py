"""POST /leads over real HTTP: what is stored, what is answered, and what is refused."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from store import leads as lead_store
from store.db import read_session
from store.models import Lead, OutboxMessage
from tests.conftest import count, eventually, no_retry_sleeps, stored_nothing

JORDAN = {
    "email": "Jordan.Blake@Northwind.io",
    "first_name": "Jordan",
    "last_name": "Blake",
    "company": "Northwind",
    "title": "VP Engineering",
    "phone": "+1 555 0100",
    "country": "US",
    "company_size": "201-500",
    "industry": "Software",
    "source": "Website",
    "utm_source": "google",
    "utm_medium": "cpc",
    "utm_campaign": "brand",
    "utm_term": "lead routing",
    "utm_content": "ad-1",
    "demo_request": True,
    "pages_visited": ["/pricing"],
    "external_id": "hs-42",
    "favourite_colour": "teal",
}


def test_a_lead_is_stored_assigned_and_answered_with_201(bot):
    status, body = bot.post_lead(JORDAN)

    assert status == 201
    assert body["created"] is True
    assert body["owner"] == "U0SDR1"
    assert body["score"] == 15  # demo request +10, pricing page +5; no ICP configured
    assert {r["rule"] for r in body["score_reasons"]} == {"demo_request", "pricing_page"}
    # A demo request is a hot lead: the 5-minute SLA applies.
    assert body["first_touch_due_at"] == (bot.clock.now() + timedelta(minutes=5)).isoformat()
    with read_session(bot.engine) as session:
        lead = lead_store.get_lead(session, body["id"])
        kinds = [a.kind for a in lead_store.activities(session, lead.id)]
    assert lead.email_norm == "jordan.blake@northwind.io"
    assert lead.domain == "northwind.io"
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign, lead.utm_term, lead.utm_content) == (
        "google",
        "cpc",
        "brand",
        "lead routing",
        "ad-1",
    )
    assert lead.external_id == "hs-42" and lead.phone == "+1 555 0100"
    assert lead.extra == {"favourite_colour": "teal"}  # unknown fields are kept
    assert lead.hot and lead.stage == "new" and lead.owner_id == "U0SDR1"
    assert kinds == ["created", "scored", "assigned"]


@pytest.mark.parametrize(
    ("body", "status", "bad_fields"),
    [
        ('{"email": "a@b.com",', 400, None),  # malformed JSON
        ("", 400, None),  # empty body
        ('["a@b.com"]', 422, {"(body)"}),  # not an object
        ('{"first_name": "No Email"}', 422, {"email"}),  # missing email
        ('{"email": "not-an-email"}', 422, {"email"}),  # invalid email
        ('{"email": 42}', 422, {"email"}),  # wrong type
        (
            '{"email": "a@b.com", "demo_request": "maybe", "pages_visited": "/pricing", "company": {"x": 1}}',
            422,
            {"demo_request", "pages_visited", "company"},
        ),  # several wrong types, each named
        ('{"email": "a@b.com", "company_size": -5}', 422, {"company_size"}),
    ],
    ids=[
        "malformed-json",
        "empty-body",
        "not-an-object",
        "missing-email",
        "invalid-email",
        "email-not-a-string",
        "wrong-types",
        "negative-size",
    ],
)
def test_bad_input_is_refused_naming_each_field_and_nothing_is_stored(bot, body, status, bad_fields):
    got_status, answer = bot.post_lead(body)

    assert got_status == status
    assert answer["error"] in ("malformed_json", "invalid_lead")
    if bad_fields is not None:
        assert {key.split(".")[0] for key in answer["fields"]} == bad_fields
    assert stored_nothing(bot.engine)
    assert bot.slack.calls_to("chat.postMessage", ok=None) == []


@pytest.mark.parametrize("token", [None, "wrong-token", ""], ids=["no-token", "wrong-token", "empty-token"])
def test_intake_without_the_right_token_gets_401_and_stores_nothing(bot, token):
    status, answer = bot.post_lead(JORDAN, token=token)

    assert status == 401
    assert answer["error"] == "unauthorized"
    assert stored_nothing(bot.engine)


def test_a_body_over_the_size_limit_gets_413_and_stores_nothing(bot):
    huge = json.dumps({"email": "a@b.com", "notes": "x" * (2 * 1024 * 1024)})

    status, answer = bot.post_lead(huge)

    assert status == 413
    assert stored_nothing(bot.engine)


def test_the_same_email_while_the_lead_is_open_is_a_touch_not_a_new_lead(bot):
    _, first = bot.post_lead(JORDAN)
    alert = bot.alert_for(first["id"])

    status, second = bot.post_lead({**JORDAN, "email": "jordan.blake@NORTHWIND.io", "source": "Webinar"})

    assert status == 200
    assert second["created"] is False and second["id"] == first["id"] and second["owner"] == first["owner"]
    assert count(bot.engine, Lead) == 1
    with read_session(bot.engine) as session:
        log = lead_store.activities(session, first["id"])
    assert [a.kind for a in log][-1] == "resubmitted"
    assert log[-1].data["fields"]["source"] == "Webinar"
    # The owner is told in the thread of the original alert.
    reply = bot.slack.wait_for(lambda: [m for m in bot.slack.messages.values() if m["thread_ts"] == alert["ts"]])
    assert reply[0]["channel"] == alert["channel"]
    assert "came in again via Webinar" in reply[0]["text"]


def test_intake_answers_201_while_slack_is_down_and_the_alert_goes_out_once_slack_is_back(bot):
    # slack-sdk retries a 503 twice itself; a third failure leaves the alert queued for later. Its real-time
    # waits between tries (up to 3.5 s) once outlasted the 5 s wait below on a loaded CI machine.
    no_retry_sleeps(bot.leadbot.client)
    bot.slack.fail_next("chat.postMessage", status=503, error="service_unavailable", times=3)

    status, body = bot.post_lead(JORDAN)

    assert status == 201
    bot.slack.wait_for(lambda: len(bot.slack.calls_to("chat.postMessage", ok=False)) == 3)
    # The row is marked after the last call: a database condition, so polled (the fake Slack sees no more calls).
    eventually(lambda: _outbox_row(bot, body["id"]).last_error is not None)
    row = _outbox_row(bot, body["id"])
    assert row.sent_at is None and "service_unavailable" in row.last_error
    assert bot.slack.calls_to("chat.postMessage") == []

    bot.clock.advance(timedelta(seconds=6))  # past the first backoff
    bot.leadbot.relay.kick()

    alert = bot.alert_for(body["id"])
    row = eventually(lambda: (r := _outbox_row(bot, body["id"])).sent_at and r)
    assert row.result_ts == alert["ts"]
    assert len(bot.slack.calls_to("chat.postMessage")) == 1


def _outbox_row(bot, lead_id: int) -> OutboxMessage:
    with read_session(bot.engine) as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.lead_id == lead_id)).one()


DEEP = "[" * 10_000 + "]" * 10_000


@pytest.mark.parametrize("path", ["/leads", "/leads/salesforce", "/leads/hubspot"])
@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        '{"email": "a@acme.com", "junk": ' + DEEP + "}",
        '{"email": "a@acme.com", "x": ' + "[" * 40 + "]" * 40 + "}",
    ],
    ids=["deep-body", "deep-field", "40-levels"],
)
def test_a_body_nested_absurdly_deep_gets_400_or_422_and_stores_nothing(bot, path, body):
    from bot.devtools.standin.requests import post
    from tests.conftest import INTAKE_TOKEN, hubspot_headers

    url = f"{bot.url}{path}"
    if path.endswith("hubspot"):
        headers = hubspot_headers(url, body, int(bot.clock.now().timestamp() * 1000))
    else:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {INTAKE_TOKEN}"}

    status, raw, _ = post(url, body, headers)

    assert status in (400, 422) and json.loads(raw)["error"] in ("malformed_json", "invalid_lead"), raw
    assert stored_nothing(bot.engine)


@pytest.mark.parametrize(
    ("lead", "field"),
    [
        ({"email": "a@acme.com", "company": "Acme\u0000Rockets"}, "company"),
        ({"email": "a@acme.com", "favourite_colour": ["teal", "bl\u0000ue"]}, "favourite_colour.1"),
        ({"email": "a@acme.com", "no\u0000te": "x"}, "no\u0000te"),
    ],
    ids=["known-field", "unknown-field", "field-name"],
)
def test_a_nul_character_is_refused_the_same_way_on_every_database(bot, lead, field):
    status, body = bot.post_lead(lead)

    # PostgreSQL cannot store NUL in text (it answered 503, so forms retried for ever); SQLite can.
    assert status == 422 and "NUL" in body["fields"][field]
    assert stored_nothing(bot.engine)


def test_slack_events_check_the_signature_before_parsing_anything(bot):
    from bot.devtools.standin.requests import post, post_signed
    from tests.conftest import SIGNING_SECRET

    deep = '{"type": "event_callback", "event": ' + DEEP + "}"
    status, raw, _ = post(f"{bot.url}/slack/events", deep, {"Content-Type": "application/json"})
    assert status == 401 and json.loads(raw)["error"] == "invalid_request"

    status, raw, _ = post_signed(f"{bot.url}/slack/events", deep, SIGNING_SECRET, "application/json")
    assert status == 400 and json.loads(raw)["error"] == "malformed_payload"

    nul = json.dumps(
        {"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_home_opened", "user": "U\u0000"}}
    )
    status, raw, _ = post_signed(f"{bot.url}/slack/events", nul, SIGNING_SECRET, "application/json")
    assert status == 400 and "NUL" in json.loads(raw)["detail"]
