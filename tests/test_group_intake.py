"""Leads posted at the same moment share one transaction (bot.intake.together), and each still gets its own answer."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from store.db import _sqlite_write_lock, is_sqlite, read_session
from store.models import Activity, Lead, OutboxMessage
from tests.conftest import eventually


@contextlib.contextmanager
def intake_held(engine):
    """Hold what every intake transaction needs: SQLite's write lock; on PostgreSQL the default pool's rotation row."""
    if is_sqlite(engine):
        with _sqlite_write_lock(engine):
            yield
        return
    with engine.connect() as connection, connection.begin():
        connection.execute(text("SELECT 1 FROM routing_state WHERE pool = 'sdr' FOR UPDATE"))
        yield


def group_sizes(bot) -> tuple[float, float]:
    """(groups, leads in them) from the intake's own metric."""
    registry = bot.leadbot.metrics.registry
    return (
        registry.get_sample_value("leadbot_intake_group_size_count") or 0,
        registry.get_sample_value("leadbot_intake_group_size_sum") or 0,
    )


def post_together(bot, leads: list[dict], queued: int) -> list[tuple[int, dict]]:
    """Post the leads at once while intake is held, so that all but the first queue up for one group (at most 7:
    the server has 8 threads)."""
    with ThreadPoolExecutor(len(leads)) as pool, intake_held(bot.engine):
        answers = [pool.submit(bot.post_lead, lead) for lead in leads]
        eventually(lambda: bot.leadbot.intake.waiting >= queued)
    return [a.result() for a in answers]


def test_leads_posted_together_share_a_transaction_and_each_gets_its_own_answer(bot):
    leads = [{"email": f"p{i}@company{i}.com", "first_name": f"P{i}", "company": f"Company {i}"} for i in range(6)]
    leads.append({"email": "P3@Company3.com", "first_name": "Again"})  # the same person twice in one group
    before = group_sizes(bot)

    answers = post_together(bot, leads, queued=len(leads) - 1)

    groups, leads_in_groups = (a - b for a, b in zip(group_sizes(bot), before, strict=True))
    assert leads_in_groups == len(leads) and groups <= 2  # the first alone (it was held), then all the rest
    created = [body for status, body in answers if status == 201]
    assert len(created) == 6 and len({body["id"] for body in created}) == 6
    status, again = next(a for a in answers if a[1].get("created") is False)
    assert status == 200
    # Round robin stays exact across the group: two SDRs, three leads each.
    owners = [body["owner"] for body in created]
    assert sorted(owners.count(rep) for rep in set(owners)) == [3, 3]
    with read_session(bot.engine) as session:
        stored = session.exec(select(Lead)).all()
        for body in created:  # what each was answered is what was stored for it
            lead = next(lead for lead in stored if lead.id == body["id"])
            assert (lead.owner_id, lead.score) == (body["owner"], body["score"])
            assert lead.routing_reason == body["routing_reason"]
        assert len(stored) == 6
        assert next(lead for lead in stored if lead.id == again["id"]).email_norm == "p3@company3.com"
        kinds = [a.kind for a in session.exec(select(Activity).where(Activity.lead_id == again["id"])).all()]
        assert kinds.count("created") == 1 and kinds.count("resubmitted") == 1
    # Every new lead's DM goes out, once each.
    eventually(lambda: len(bot.slack.calls_to("chat.postMessage")) >= 7)  # six DMs, one note in a thread
    dms = [c for c in bot.slack.calls_to("chat.postMessage") if not c.args.get("thread_ts")]
    assert len(dms) == 6


def test_a_group_that_meets_a_conflict_is_taken_one_by_one(bot):
    """Another instance stored one of the group's people first (its commit came between our check and insert):
    the group's transaction fails on the unique open email, and each lead is taken again on its own."""
    leads = [{"email": f"q{i}@firm{i}.com"} for i in range(4)]
    fired = threading.Event()

    def conflict(conn, cursor, statement, params, context, executemany):
        # The group's first look at its people: make its transaction fail the way a unique index does.
        if statement.startswith("SELECT lead.email_norm") and not fired.is_set():
            fired.set()
            try:
                cursor.execute("INSERT INTO routing_state (pool, assigned_count) VALUES ('sdr', 0)")  # already there
            except Exception as orig:
                raise IntegrityError(statement, None, orig) from orig

    event.listen(bot.engine, "before_cursor_execute", conflict)
    try:
        answers = post_together(bot, leads, queued=len(leads) - 1)
    finally:
        event.remove(bot.engine, "before_cursor_execute", conflict)
    assert fired.is_set()
    assert [status for status, _ in answers] == [201] * 4
    with read_session(bot.engine) as session:
        assert len(session.exec(select(Lead)).all()) == 4
        assert len(session.exec(select(OutboxMessage).where(OutboxMessage.ref == "alert")).all()) == 4
