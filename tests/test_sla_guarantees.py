"""Exactly once: racing sweepers, restarts after downtime, and several processes' worth of engines."""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.intake.accept import accept_lead, parse_lead
from bot.runtime.app import prepare_database
from bot.sla.sweep import sweep
from store.db import make_engine, read_session
from store.models import Activity, OutboxMessage, Timer
from tests.conftest import eventually, make_config, start_bot, stop_bot

RACE_LEADS = int(os.environ.get("LEADBOT_RACE_LEADS", "1000"))


def _activity_counts(engine, kind: str) -> Counter:
    with read_session(engine) as session:
        rows = session.exec(select(Activity.lead_id).where(Activity.kind == kind)).all()
    return Counter(rows)


def test_two_sweepers_racing_over_due_leads_fire_every_action_exactly_once(database_url, clock):
    leads = RACE_LEADS if database_url.startswith("postgresql") else 200
    config = make_config()
    engine = make_engine(database_url)
    prepare_database(engine, config)
    for i in range(leads):
        accept_lead(engine, config, clock, parse_lead({"email": f"race{i}@acme{i}.com"}))
    now = clock.advance(timedelta(hours=24))
    engines = [make_engine(database_url) for _ in range(2)]  # two sweepers, as two processes would have

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda e: sweep(e, config, now), engines))

    total = results[0].outcomes + results[1].outcomes
    assert total == {"reminded": leads, "breached": leads, "escalated": leads, "reassigned": leads}
    assert all(r.fired > 0 for r in results), "both sweepers took part"
    for kind in ("reminded", "sla_breached", "escalated", "reassigned"):
        counts = _activity_counts(engine, kind)
        assert len(counts) == leads and set(counts.values()) == {1}, kind
    with read_session(engine) as session:
        due_left = session.exec(
            select(func.count()).select_from(Timer).where(Timer.state == "pending", Timer.due_at <= now)
        ).one()
        escalation_posts = session.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.ref == "escalation")
        ).one()
    assert due_left == 0 and escalation_posts == leads
    for e in [engine, *engines]:
        e.dispose()


def test_timers_due_during_downtime_fire_on_start_once_and_restarts_duplicate_nothing(database_url, fake_slack, clock):
    leadbot, server = start_bot(database_url, fake_slack, clock)
    from tests.conftest import RunningBot

    bot = RunningBot(leadbot, server.url, fake_slack, clock)
    _, body = bot.post_lead({"email": "down@acme.com", "first_name": "Dana"})
    bot.alert_for(body["id"])
    stop_bot(leadbot, server)

    clock.advance(timedelta(hours=3))  # the bot is down through the first-touch and escalation deadlines
    for restart in range(2):
        leadbot, server = start_bot(database_url, fake_slack, clock, sweep=True)  # the first tick runs at once
        eventually(lambda lb=leadbot: lb.jobs.sweeps >= 1)
        if restart == 0:
            assert leadbot.jobs.last_sweep.outcomes == {"reminded": 1, "breached": 1, "escalated": 1}
        else:
            assert leadbot.jobs.last_sweep.fired == 0
        fake_slack.wait_for(lambda: [m for m in fake_slack.messages_in("C0ESCALATE")])
        stop_bot(leadbot, server)

    assert _activity_counts(leadbot.engine, "escalated") == {body["id"]: 1}
    assert len([m for m in fake_slack.messages_in("C0ESCALATE")]) == 1


@pytest.mark.parametrize("sweepers", [3])
def test_an_empty_sweep_fires_nothing_and_leaves_pending_timers_alone(database_url, clock, sweepers):
    config = make_config()
    engine = make_engine(database_url)
    prepare_database(engine, config)
    accept_lead(engine, config, clock, parse_lead({"email": "calm@acme.com"}))

    results = [sweep(engine, config, clock.now()) for _ in range(sweepers)]

    assert [r.fired for r in results] == [0] * sweepers
    with read_session(engine) as session:
        states = Counter(session.exec(select(Timer.state)).all())
    assert states == {"pending": 4}
    engine.dispose()
