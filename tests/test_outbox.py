"""The outbox relay against the fake Slack: rate limits, refusals, outages and ordering."""

from __future__ import annotations

import json
import socket
import urllib.request
from datetime import timedelta

from sqlmodel import select

from bot.runtime.app import make_relay
from bot.slack.client import make_web_client
from store import outbox as outbox_store
from store.db import read_session, write_session
from store.models import Lead, OutboxMessage
from tests.conftest import eventually, make_config, no_retry_sleeps


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


def test_a_message_slack_refuses_is_kept_as_failed_and_the_managers_channel_is_told(bot):
    bot.slack.fail_next("chat.postMessage", status=200, error="user_not_found")

    status, body = bot.post_lead({"email": "a@acme.com"})

    assert status == 201
    row = eventually(lambda: (r := _rows(bot.engine)[0]).failed and r)
    assert row.sent_at is None and row.last_error == "chat.postMessage: user_not_found"
    notice = bot.channel_messages("C0ESCALATE", 1)[0]
    assert (
        f"could not deliver a message about lead #{body['id']} to <@U0SDR1> (chat.postMessage: user_not_found)"
        in (notice["text"])
    )
    bot.clock.advance(timedelta(hours=1))
    bot.leadbot.relay.deliver_due()
    assert [c.args["channel"] for c in bot.slack.calls_to("chat.postMessage", ok=None)] == ["U0SDR1", "C0ESCALATE"], [
        c.args.get("text") for c in bot.slack.calls_to("chat.postMessage", ok=None)
    ]


def test_slack_answering_429_and_500_for_a_while_still_gets_every_message_once(bot):
    no_retry_sleeps(bot.leadbot.client)
    bot.slack.fail_next("chat.postMessage", status=429, error="ratelimited", retry_after=0, times=7)
    bot.slack.fail_next("chat.postMessage", status=500, error="internal_error", times=7)
    bodies = [bot.post_lead({"email": f"p{i}@acme{i}.com"})[1] for i in range(4)]

    for _ in range(20):  # ten simulated minutes, a relay pass every 30 seconds
        bot.clock.advance(timedelta(seconds=30))
        bot.leadbot.relay.deliver_due()

    eventually(lambda: all(r.sent_at for r in _rows(bot.engine)))  # a relay thread may still be mid-retry
    delivered = [c.args for c in bot.slack.calls_to("chat.postMessage")]
    assert sorted(a["channel"] for a in delivered) == ["U0SDR1", "U0SDR1", "U0SDR2", "U0SDR2"]
    for body in bodies:
        assert sum(f"Lead #{body['id']} " in str(a["blocks"]) for a in delivered) == 1
    assert len(bot.slack.calls_to("chat.postMessage", ok=False)) == 14


def test_a_message_that_keeps_failing_is_given_up_after_the_bounded_time_and_shows_in_healthz(bot):
    bot.leadbot.relay.stop()  # sent by hand below, so no background pass is mid-send when the test looks
    no_retry_sleeps(bot.leadbot.client)
    bot.slack.fail_next("chat.postMessage", status=503, error="service_unavailable", times=10_000)
    bot.post_lead({"email": "a@acme.com"})
    bot.leadbot.relay.deliver_due()
    assert _rows(bot.engine)[0].last_error

    for _ in range(30):  # past the default 24 hours of retrying
        bot.clock.advance(timedelta(hours=1))
        bot.leadbot.relay.deliver_due()

    row = _rows(bot.engine)[0]
    assert row.failed and row.last_error.startswith("gave up after")
    with urllib.request.urlopen(f"{bot.url}/healthz") as response:
        health = json.loads(response.read())
    assert health["outbox"] == {"pending": 0, "failed": 1, "oldest_pending_seconds": None}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_leaves_the_row_queued_for_a_later_try(engine, clock, fake_slack):
    with write_session(engine) as session:
        outbox_store.enqueue(
            session, target="slack", method="chat.postMessage", payload={"channel": "C1", "text": "hi"}, now=clock.now()
        )
    dead = make_web_client(fake_slack.bot_token, f"http://127.0.0.1:{_closed_port()}/api/")
    no_retry_sleeps(dead)

    make_relay(engine, dead, clock, make_config()).deliver_due()

    row = _rows(engine)[0]
    assert row.sent_at is None and not row.failed and "URLError" in row.last_error
    assert row.next_attempt_at > clock.now()

    clock.advance(timedelta(seconds=10))
    live = make_web_client(fake_slack.bot_token, fake_slack.base_url)
    assert make_relay(engine, live, clock, make_config()).deliver_due() == 1
    assert _rows(engine)[0].sent_at == clock.now()
    assert [m["text"] for m in fake_slack.messages_in("C1")] == ["hi"]


def test_an_update_waits_for_the_post_it_updates(bot):
    no_retry_sleeps(bot.leadbot.client)
    bot.slack.fail_next("chat.postMessage", status=503, error="down", times=3)
    _, body = bot.post_lead({"email": "a@acme.com"})
    eventually(lambda: _rows(bot.engine)[0].last_error)
    with write_session(bot.engine) as session:  # a change queued while the alert is still unsent
        outbox_store.enqueue(
            session,
            target="slack",
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


def test_a_post_whose_answer_was_lost_is_found_in_slack_and_not_posted_twice(bot):
    bot.leadbot.relay.stop()  # this test sends by hand
    bot.slack.lose_answer_next("chat.postMessage")  # Slack posts the alert, the answer never arrives
    _, body = bot.post_lead({"email": "a@acme.com"})

    bot.leadbot.relay.deliver_due()
    row = _rows(bot.engine)[0]
    assert row.sent_at is None and row.in_flight  # in doubt: it may be in Slack
    assert len(bot.slack.messages_in("D0SDR1")) == 1

    bot.clock.advance(timedelta(minutes=1))
    bot.leadbot.relay.deliver_due()

    row = _rows(bot.engine)[0]
    posted = bot.slack.messages_in("D0SDR1")
    assert len(posted) == 1 and row.sent_at and row.result_ts == posted[0]["ts"]  # found, not posted again
    assert len(bot.slack.calls_to("chat.postMessage", ok=None)) == 1
    assert posted[0]["metadata"] == {"event_type": "leadbot_outbox_message", "event_payload": {"outbox_id": row.id}}
    with read_session(bot.engine) as session:  # later updates edit that message
        assert session.get(Lead, body["id"]).alert_ts == posted[0]["ts"]


def test_a_sender_that_died_mid_send_leaves_its_row_to_be_checked_and_sent_once(bot):
    bot.leadbot.relay.stop()
    bot.post_lead({"email": "a@acme.com"})
    with write_session(bot.engine) as session:  # a relay claims the row, then its process is killed
        [claimed] = outbox_store.claim_due(session, bot.clock.now(), timedelta(minutes=3), 10)
    assert not claimed.in_doubt

    bot.clock.advance(timedelta(minutes=4))  # the dead sender's lease runs out
    bot.leadbot.relay.deliver_due()

    # It had not reached Slack: after looking, it is posted, once.
    assert len(bot.slack.calls_to("conversations.history")) == 1
    assert len(bot.slack.messages_in("D0SDR1")) == 1 and _rows(bot.engine)[0].sent_at


def test_when_slack_refuses_the_look_up_the_post_in_doubt_is_sent_rather_than_dropped(bot):
    bot.leadbot.relay.stop()
    bot.post_lead({"email": "a@acme.com"})
    with write_session(bot.engine) as session:  # claimed by a sender that then died
        outbox_store.claim_due(session, bot.clock.now(), timedelta(minutes=3), 10)
    bot.slack.fail_next("conversations.history", status=200, error="missing_scope")  # installed with old scopes

    bot.clock.advance(timedelta(minutes=4))
    bot.leadbot.relay.deliver_due()

    row = _rows(bot.engine)[0]
    assert row.sent_at and not row.failed
    assert len(bot.slack.messages_in("D0SDR1")) == 1


def _posts(engine) -> list[OutboxMessage]:
    return [r for r in _rows(engine) if r.method == "chat.postMessage"]


def test_a_post_in_doubt_stays_in_doubt_until_slack_answers_the_look_up(bot):
    bot.leadbot.relay.stop()
    no_retry_sleeps(bot.leadbot.client)
    bot.slack.lose_answer_next("chat.postMessage", times=2)  # Slack posts both alerts; the answers never arrive
    for i in range(2):
        bot.post_lead({"email": f"p{i}@acme{i}.com"})
    bot.leadbot.relay.deliver_due()
    assert all(r.in_flight and not r.sent_at for r in _posts(bot.engine))

    # A 45-second outage: every look-up is answered 503, slack-sdk's own two retries included.
    bot.slack.fail_next("conversations.history", status=503, error="service_unavailable", times=6)
    bot.clock.advance(timedelta(minutes=1))
    bot.leadbot.relay.deliver_due()
    rows = _posts(bot.engine)
    assert all(r.in_flight and not r.sent_at for r in rows), "still in doubt: Slack never answered the look-up"
    assert all("service_unavailable" in r.last_error for r in rows)

    bot.clock.advance(timedelta(minutes=5))  # Slack is back
    bot.leadbot.relay.deliver_due()

    assert all(r.sent_at for r in _posts(bot.engine))
    assert len(bot.slack.messages_in("D0SDR1")) == 1 and len(bot.slack.messages_in("D0SDR2")) == 1
    assert len(bot.slack.calls_to("chat.postMessage", ok=None)) == 2  # the two lost answers; nothing posted again


def test_the_look_up_pages_through_a_busy_channel_to_find_the_earlier_post(bot):
    bot.leadbot.relay.stop()
    bot.slack.lose_answer_next("chat.postMessage")
    _, body = bot.post_lead({"email": "a@acme.com"})
    bot.leadbot.relay.deliver_due()
    for n in range(250):  # more than one page of later messages in the same DM
        bot.leadbot.client.chat_postMessage(channel="U0SDR1", text=f"Reminder {n}")

    bot.clock.advance(timedelta(minutes=1))
    bot.leadbot.relay.deliver_due()

    alerts = [m for m in bot.slack.messages_in("D0SDR1") if m.get("metadata")]
    assert len(alerts) == 1, "found on a later page, not posted again"
    assert len(bot.slack.calls_to("conversations.history")) == 2  # two pages of up to 200
    with read_session(bot.engine) as session:
        assert session.get(Lead, body["id"]).alert_ts == alerts[0]["ts"]


def test_one_row_that_raises_does_not_strand_the_rest_of_its_batch(bot):
    bot.leadbot.relay.stop()
    with write_session(bot.engine) as session:  # a row this version cannot render (queued in another shape)
        outbox_store.enqueue(
            session, target="slack", method="views.publish", payload={"render": "home"}, now=bot.clock.now()
        )
    for i in range(2):
        bot.post_lead({"email": f"p{i}@acme{i}.com"})

    bot.leadbot.relay.deliver_due()

    broken, *alerts = _rows(bot.engine)
    assert all(r.sent_at for r in alerts if r.method == "chat.postMessage"), "the rest of the batch went out"
    assert len(bot.slack.messages_in("D0SDR1")) == 1 and len(bot.slack.messages_in("D0SDR2")) == 1
    assert bot.leadbot.relay._in_flight == set()
    assert broken.sent_at is None and not broken.failed and "KeyError" in broken.last_error
    assert broken.next_attempt_at > bot.clock.now() and not broken.in_flight  # retried later, with backoff

    bot.clock.advance(timedelta(hours=25))  # past give_up_after: kept as failed, not retried for ever
    bot.leadbot.relay.deliver_due()
    assert _rows(bot.engine)[0].failed


def test_background_work_is_claimed_after_every_due_message_and_blocks_no_later_update(engine, clock):
    now, lease = clock.now(), timedelta(minutes=3)
    with write_session(engine) as session:
        lead = Lead(email="a@b.io", email_norm="a@b.io", created_at=now)
        session.add(lead)
        session.flush()
        # Older background rows (home refreshes, a DM redrawn for its CRM link) and then two messages.
        for user in ("U1", "U2", "U3"):
            outbox_store.enqueue_once(session, target="slack", method="views.publish", payload={}, now=now,
                                      ref=f"home:{user}")  # fmt: skip
        outbox_store.enqueue(session, target="slack", method="chat.update", payload={}, now=now, lead_id=lead.id,
                             ref="alert", background=True)  # fmt: skip
        outbox_store.enqueue(session, target="slack", method="chat.update", payload={}, now=now, lead_id=lead.id,
                             ref="alert")  # fmt: skip
        outbox_store.enqueue(session, target="slack", method="chat.postMessage", payload={}, now=now)

    with write_session(engine) as session:
        claimed = outbox_store.claim_due(session, now, lease, 2)
        first = [(c.row.method, c.row.background) for c in claimed]
    later = []
    for _ in range(3):
        with write_session(engine) as session:
            later.append([(c.row.method, c.row.background) for c in outbox_store.claim_due(session, now, lease, 10)])

    # The lead's later update goes before its background redraw (which renders the lead as it is when sent).
    assert first == [("chat.update", False), ("chat.postMessage", False)]
    # Then background work, two rows a claim, so a message arriving meanwhile waits for two at most.
    assert later == [[("views.publish", True)] * 2, [("views.publish", True), ("chat.update", True)], []]


def test_a_relay_told_to_leave_background_work_claims_only_messages(engine, clock):
    """`serve --no-sweep` beside workers: its relay sends due messages; refreshes and redraws are the workers'."""
    now, lease = clock.now(), timedelta(minutes=3)
    with write_session(engine) as session:
        outbox_store.enqueue_once(session, target="slack", method="views.publish", payload={}, now=now, ref="home:U1")
        outbox_store.enqueue(session, target="slack", method="chat.postMessage", payload={}, now=now)

    with write_session(engine) as session:
        web = [c.row.method for c in outbox_store.claim_due(session, now, lease, 10, background=False)]
    with write_session(engine) as session:
        web_again = outbox_store.claim_due(session, now, lease, 10, background=False)
    with write_session(engine) as session:
        worker = [c.row.method for c in outbox_store.claim_due(session, now, lease, 10)]

    assert web == ["chat.postMessage"] and web_again == []
    assert worker == ["views.publish"]


def test_a_row_another_thread_of_the_relay_is_busy_with_is_not_leased_and_parked(engine, clock, fake_slack):
    """A thread that has just set its row to retry still holds it until its batch ends; the row is due again
    meanwhile. The relay's other thread used to lease it and skip it, parking it for the whole lease (3 min)
    instead of its retry wait (5 s): the rare timeout in the Slack-outage intake test."""
    with write_session(engine) as session:
        outbox_store.enqueue(
            session, target="slack", method="chat.postMessage", payload={"channel": "C1", "text": "hi"}, now=clock.now()
        )
    [row] = _rows(engine)
    relay = make_relay(engine, make_web_client(fake_slack.bot_token, fake_slack.base_url), clock, make_config())
    relay._in_flight.add(row.id)  # as the first thread leaves it between recording the retry and its batch's end

    assert relay.deliver_due() == 0
    [untouched] = _rows(engine)
    assert (untouched.attempts, untouched.in_flight, untouched.next_attempt_at) == (0, False, clock.now())

    relay._in_flight.discard(row.id)  # the first thread's batch ends
    assert relay.deliver_due() == 1
    assert [m["text"] for m in fake_slack.messages_in("C1")] == ["hi"]
