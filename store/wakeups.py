"""Telling other processes that something was queued, as it commits: how a relay in one process hears of a row
another process (a web server beside workers, another instance) has just written, without polling the table.

PostgreSQL: the writing transaction sends NOTIFY, delivered to every listener at its commit. SQLite: the
database is a file on this machine, and every commit writes its write-ahead log, so a change of the log's size
or time is a commit; looking costs one stat() every 10 ms.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from store.db import DATABASE_CONNECT_TIMEOUT_S, is_sqlite

log = logging.getLogger(__name__)

CHANNEL = "leadbot_outbox"
SQLITE_LOOK_EVERY_S = 0.01
RECONNECT_AFTER_S = 1.0


def announce(session: Session) -> None:
    """Within a transaction that queued something: tell every listening process once it commits (PostgreSQL
    folds repeats within one transaction into one notification; on SQLite the commit itself is the sign)."""
    if not is_sqlite(session.get_bind()):
        session.execute(text(f"NOTIFY {CHANNEL}"))


def watch(engine: Engine, heard: Callable[[], None], stopping: threading.Event) -> None:
    """Call `heard` once watching, then after each commit that announced something (on SQLite: after each
    commit), until `stopping`."""
    if is_sqlite(engine):
        _watch_log_file(engine.url.database, heard, stopping)
    else:
        _listen(engine, heard, stopping)


def _watch_log_file(database: str | None, heard: Callable[[], None], stopping: threading.Event) -> None:
    if not database or database == ":memory:":
        return  # nothing another process could share
    paths = (f"{database}-wal", database)

    def state():
        for path in paths:
            try:
                found = os.stat(path)
            except OSError:
                continue
            return path, found.st_mtime_ns, found.st_size
        return None

    seen = state()
    heard()  # whatever was committed before this looked
    while not stopping.wait(SQLITE_LOOK_EVERY_S):
        now = state()
        if now != seen:
            seen = now
            heard()


def _listen(engine: Engine, heard: Callable[[], None], stopping: threading.Event) -> None:
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stopping.is_set():
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=DATABASE_CONNECT_TIMEOUT_S) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                heard()  # whatever was announced while nobody listened
                while not stopping.is_set():
                    for _ in connection.notifies(timeout=0.5):  # ends after half a second without a notification
                        heard()
        except psycopg.Error as exc:
            log.warning("not hearing other processes' commits (%s); listening again in %.0f s", exc, RECONNECT_AFTER_S)
            stopping.wait(RECONNECT_AFTER_S)
