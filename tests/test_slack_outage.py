"""Slack down for a while (connection refused, then 500s, then 429s): intake keeps answering, nothing is lost,
and when Slack is back everything queued is delivered once, in order per lead, with the backlog visible."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from tests.conftest import RunningBot, no_retry_sleeps, start_bot, stop_bot
from tests.faults import CuttableProxy


@pytest.fixture
def bot_behind_proxy(database_url, fake_slack, clock):
    where = urlsplit(fake_slack.base_url)
    proxy = CuttableProxy(where.hostname, where.port)
    leadbot, server = start_bot(database_url, fake_slack, clock, slack_api_url=f"http://127.0.0.1:{proxy.port}/api/")
    no_retry_sleeps(leadbot.client)
    yield RunningBot(leadbot, server.url, fake_slack, clock), proxy
    stop_bot(leadbot, server)
    proxy.stop()


def _metrics(bot) -> dict[str, float]:
    with urllib.request.urlopen(f"{bot.url}/metrics") as response:
        lines = response.read().decode().splitlines()
    return {name: float(value) for name, value in (line.rsplit(" ", 1) for line in lines if not line.startswith("#"))}


def _relay_passes(bot, minutes: int) -> None:
    for _ in range(minutes * 2):  # a relay pass every 30 simulated seconds
        bot.clock.advance(timedelta(seconds=30))
        bot.leadbot.relay.deliver_due()


def test_a_slack_outage_loses_nothing_and_delivers_everything_once_in_order(bot_behind_proxy):
    bot, proxy = bot_behind_proxy
    bot.leadbot.relay.stop()  # the passes below are the relay: a background pass racing them makes attempts vary
    proxy.refuse()

    answers = [bot.post_lead({"email": e}) for e in ("a@acme.com", "b@globex.com", "c@initech.com")]
    answers += [bot.post_lead({"email": e, "demo_request": True}) for e in ("a@acme.com", "b@globex.com")]
    assert [status for status, _ in answers] == [201, 201, 201, 200, 200]  # resubmissions: a reply in the thread
    lead_ids = [body["id"] for _, body in answers[:3]]
    emails = dict(zip(lead_ids, ("a@acme.com", "b@globex.com"), strict=False))
    alert_email = emails.get

    _relay_passes(bot, minutes=3)  # connection refused the whole time
    during = _metrics(bot)
    assert during["leadbot_outbox_pending"] >= 5 and during["leadbot_outbox_oldest_pending_seconds"] >= 180
    assert sum(v for k, v in during.items() if k.startswith("leadbot_slack_api_errors_total")) > 0
    assert bot.slack.calls_to("chat.postMessage", ok=None) == []  # nothing reached Slack

    proxy.restore()  # Slack answers again, badly: 500s, then rate limits
    bot.slack.fail_next("chat.postMessage", status=500, error="internal_error", times=6)
    bot.slack.fail_next("chat.postMessage", status=429, error="ratelimited", retry_after=0, times=6)
    for _ in range(30):  # a pass every 30 simulated seconds until the backlog is gone (backoff reaches minutes)
        _relay_passes(bot, minutes=1)
        if _metrics(bot)["leadbot_outbox_pending"] == 0:
            break
    assert _metrics(bot)["leadbot_outbox_pending"] == 0

    posted = bot.slack.calls_to("chat.postMessage")
    assert len(bot.slack.calls_to("chat.postMessage", ok=False)) == 12  # every injected failure was met
    for lead_id in lead_ids:  # each alert exactly once
        alerts = [
            c for c in posted if f"Lead #{lead_id} " in json.dumps(c.args.get("blocks")) and not c.args.get("thread_ts")
        ]
        assert len(alerts) == 1, lead_id
    for lead_id in lead_ids[:2]:  # the resubmission notice went after its alert, into its thread
        alert = bot.alert_for(lead_id)
        replies = [m for m in bot.slack.messages_in(alert["channel"]) if m["thread_ts"] == alert["ts"]]
        assert [r["text"] for r in replies] == [
            f"{alert_email(lead_id)} came in again. Logged as a new touch on this lead (Lead #{lead_id})."
        ]
    assert _metrics(bot)["leadbot_outbox_failed"] == 0
