"""A relay hears at once of what another process commits (store.wakeups): NOTIFY on PostgreSQL, the write-ahead
log on SQLite. Here the "other process" is another engine (its own connections), and the listener's engine
never writes."""

from __future__ import annotations

import threading

from sqlalchemy import text

from store import outbox as outbox_store
from store import wakeups
from store.db import make_engine, write_session
from tests.conftest import eventually


def listening(database_url):
    heard, stopping = threading.Event(), threading.Event()
    thread = threading.Thread(target=wakeups.watch, args=(make_engine(database_url), heard.set, stopping), daemon=True)
    thread.start()
    return heard, stopping, thread


def test_a_row_queued_by_another_process_is_heard_of_when_it_commits(database_url, engine, clock):
    heard, stopping, thread = listening(database_url)
    try:
        eventually(heard.is_set)  # listening (PostgreSQL says so once, for anything queued before)
        heard.clear()
        with write_session(engine) as session:
            outbox_store.enqueue(session, target="slack", method="chat.postMessage", payload={}, now=clock.now())
            wakeups.announce(session)
            assert not heard.wait(0.2)  # not before the commit
        assert heard.wait(2)
    finally:
        stopping.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_the_listener_comes_back_after_losing_its_connection(database_url, engine, clock):
    """PostgreSQL only: an administrator terminating the listening connection (or a failover) costs a second."""
    if engine.dialect.name != "postgresql":
        return
    heard, stopping, thread = listening(database_url)
    try:
        eventually(heard.is_set)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE query LIKE :listen AND datname = current_database()"
                ),
                {"listen": f"LISTEN {wakeups.CHANNEL}%"},
            )
        heard.clear()
        eventually(heard.is_set, timeout=5)  # listening again (and says so)
        heard.clear()
        with write_session(engine) as session:
            wakeups.announce(session)
        assert heard.wait(2)
    finally:
        stopping.set()
        thread.join(timeout=5)
