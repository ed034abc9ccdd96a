"""A write transaction waits for another process's SQLite write lock (store.db._begin_immediate) in small steps:
it neither fails at once nor keeps the connection without its busy timeout afterwards."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import text

from store.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, write_session
from store.migrate import current_revision, ensure_schema, head_revision


def test_a_write_waits_for_another_process_lock_and_keeps_its_busy_timeout(tmp_path):
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    with write_session(engine) as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # as another process would
    other.execute("BEGIN IMMEDIATE")
    releasing = threading.Event()

    def release_later():
        releasing.wait(0.2)  # a while after the write below has started waiting
        other.execute("INSERT INTO t VALUES (1)")
        releasing.set()
        other.execute("COMMIT")

    threading.Thread(target=release_later, daemon=True).start()
    with write_session(engine) as session:
        session.execute(text("INSERT INTO t VALUES (2)"))  # the transaction begins here
        assert releasing.is_set()  # it got the lock only once the other one let go
        timeout = session.execute(text("PRAGMA busy_timeout")).scalar()
    assert timeout == SQLITE_BUSY_TIMEOUT_MS
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 2]
    other.close()
    engine.dispose()


def test_another_error_at_begin_is_not_waited_on(tmp_path):
    path = tmp_path / "readonly.db"
    engine = make_engine(f"sqlite:///{path}")
    with write_session(engine) as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    engine.dispose()
    readonly = make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(Exception, match="readonly|read-only|attempt to write"):
        with write_session(readonly) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
    readonly.dispose()


def test_processes_starting_at_once_on_a_new_file_set_it_up_once(tmp_path):
    """A web server and its worker started together on a fresh SQLite file: both start, the schema is made once."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engines = [make_engine(url) for _ in range(4)]  # each its own connections, as separate processes have
    start, failures = threading.Barrier(len(engines)), []

    def start_up(engine):
        start.wait()
        try:
            ensure_schema(engine)
        except Exception as exc:  # noqa: BLE001 - the test reports whatever stopped a start
            failures.append(exc)

    threads = [threading.Thread(target=start_up, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert current_revision(engines[0]) == head_revision()
    for engine in engines:
        engine.dispose()
