"""The outbox relay against the fake Slack: rate limits, refusals, outages and ordering."""

from __future__ import annotations

import socket
from datetime import timedelta

from sqlmodel import select

from bot.outbox import OutboxRelay
from bot.slack_client import make_web_client
from store import outbox as outbox_store
from store.db import read_session, write_session
from store.models import OutboxMessage
from tests.conftest import eventually


def _rows(engine) -> list[OutboxMessage]:
    with read_session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_a_429_is_retried_after_retry_after_and_the_message_is_sent_once(bot):
    bot.slack.fail_next("chat.postMessage", status=429, error="ratelimited", retry_after=1)

    _, body = bot.post_lead({"email": "a@acme.com"})

    bot.alert_for(body["id"])
    calls = bot.slack.calls_to("chat.postMessage", ok=None)
    assert [c.ok for c in calls] == [False, True]
    assert calls[1].received_at - calls[0].received_at >= 1.0  # Retry-After honoured
    assert eventually(lambda: _rows(bot.engine)[0].sent_at)


def test_a_message_slack_refuses_is_kept_as_failed_with_the_error_not_retried(bot):
    bot.slack.fail_next("chat.postMessage", status=200, error="channel_not_found")

    status, _ = bot.post_lead({"email": "a@acme.com"})

    assert status == 201
    row = eventually(lambda: (r := _rows(bot.engine)[0]).failed and r)
    assert row.sent_at is None and row.last_error == "chat.postMessage: channel_not_found"
    bot.clock.advance(timedelta(hours=1))
    bot.leadbot.relay.deliver_due()
    assert len(bot.slack.calls_to("chat.postMessage", ok=None)) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_leaves_the_row_queued_for_a_later_try(engine, clock, fake_slack):
    with write_session(engine) as session:
        outbox_store.enqueue(
            session, method="chat.postMessage", payload={"channel": "C1", "text": "hi"}, now=clock.now()
        )
    dead = make_web_client(fake_slack.bot_token, f"http://127.0.0.1:{_closed_port()}/api/")
    for handler in dead.retry_handlers:  # no real-time sleeping between retries in this test
        handler.interval_calculator.calculate_sleep_duration = lambda attempt: 0

    OutboxRelay(engine, dead, clock).deliver_due()

    row = _rows(engine)[0]
    assert row.sent_at is None and not row.failed and "URLError" in row.last_error
    assert row.next_attempt_at > clock.now()

    clock.advance(timedelta(seconds=10))
    live = make_web_client(fake_slack.bot_token, fake_slack.base_url)
    assert OutboxRelay(engine, live, clock).deliver_due() == 1
    assert _rows(engine)[0].sent_at == clock.now()
    assert [m["text"] for m in fake_slack.messages_in("C1")] == ["hi"]


def test_an_update_waits_for_the_post_it_updates(bot):
    bot.slack.fail_next("chat.postMessage", status=503, error="down", times=3)
    _, body = bot.post_lead({"email": "a@acme.com"})
    eventually(lambda: _rows(bot.engine)[0].last_error)
    with write_session(bot.engine) as session:  # a change queued while the alert is still unsent
        outbox_store.enqueue(
            session,
            method="chat.update",
            payload={"text": "changed", "blocks": []},
            now=bot.clock.now(),
            lead_id=body["id"],
            ref="alert",
        )
    bot.leadbot.relay.deliver_due()
    assert bot.slack.calls_to("chat.update", ok=None) == []

    bot.clock.advance(timedelta(seconds=6))
    bot.leadbot.relay.deliver_due()
    bot.leadbot.relay.deliver_due()

    alert = bot.slack.wait_for(lambda: bot.slack.calls_to("chat.update"))
    assert alert[0].args["ts"] == _rows(bot.engine)[0].result_ts
