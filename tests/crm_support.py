"""What the CRM write-back tests share, whichever CRM they drive: waiting for the CRM's queue to be done."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta

from sqlmodel import select

from store import leads as lead_store
from store import outbox as outbox_store
from store.db import read_session
from store.models import Lead, OutboxMessage
from tests.conftest import eventually
from tests.test_handoff import LEAD


def settled(bot, timeout: float = 10.0) -> None:
    """Every CRM write queued so far is done (sent or failed)."""
    eventually(lambda: all_done(bot), timeout)


def drained(bot, rounds: int = 40, step: timedelta = timedelta(minutes=1)) -> None:
    """Travel in time, a step a round, until every CRM write is done: retries come due without waiting."""
    for _ in range(rounds):
        if all_done(bot):
            return
        bot.clock.advance(step)
        bot.leadbot.crm_relay.kick()
        time.sleep(0.1)
    raise AssertionError("CRM writes still waiting after the retries came due")


def crm_rows(bot) -> list[OutboxMessage]:
    with read_session(bot.engine) as session:
        query = select(OutboxMessage).where(OutboxMessage.target == bot.crm).order_by(OutboxMessage.id)
        return list(session.exec(query).all())


def all_done(bot) -> bool:
    return all(r.sent_at or r.failed for r in crm_rows(bot))


def unsent(bot) -> int:
    with read_session(bot.engine) as session:
        return outbox_store.depth(session, bot.crm)[0]


def lead_row(bot, lead_id: int) -> Lead:
    with read_session(bot.engine) as session:
        return lead_store.get_lead(session, lead_id)


def http_get(url: str):
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.status, answer.read(), dict(answer.headers)


def new_lead(bot, lead: dict | None = None) -> tuple[int, str]:
    """A lead written to the CRM as a record owned by its SDR: (lead id, the CRM record's id)."""
    status, body = bot.post_lead(lead or LEAD)
    assert status == 201
    settled(bot)
    return body["id"], lead_row(bot, body["id"]).crm_record_id


def answers(standin) -> list[dict]:
    """Leadbot's answers to every event the CRM stand-in delivered so far (waits until each is answered)."""
    deliveries = standin.wait_for_deliveries()
    assert {d.status for d in deliveries} == {200}, [(d.status, d.answer) for d in deliveries]
    return [json.loads(d.answer) for d in deliveries]
