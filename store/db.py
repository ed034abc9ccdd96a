"""Engine and sessions for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

from psycopg import sql as pg_sql
from sqlalchemy import Column, DateTime, event, insert, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, create_engine

DEFAULT_DATABASE_URL = "sqlite:///leadbot.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
DATABASE_CONNECT_TIMEOUT_S = 5


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as naive UTC and gives them back aware.

    SQLite keeps no time zone, so one convention for both databases avoids
    comparing naive and aware values by accident.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use the clock's aware UTC times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utc_column(nullable: bool = False, index: bool = False) -> Any:
    """A table field holding an aware UTC time (see UTCDateTime)."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def normalise_database_url(url: str) -> str:
    """Accept the URLs platforms hand out (postgres://, postgresql://) and pick psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str = DEFAULT_DATABASE_URL) -> Engine:
    url = normalise_database_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    # A database that is down answers within seconds instead of hanging a request: connect_timeout bounds the
    # connect, pool_timeout the wait for a pooled connection; pre-ping drops connections that died meanwhile.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=10,
        connect_args={"connect_timeout": DATABASE_CONNECT_TIMEOUT_S},
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN itself, so writers can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _use_write_ahead_log(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A deferred transaction that reads and then writes fails its lock upgrade at once
        # (busy_timeout is ignored there); writers take the write lock up front instead.
        if conn.get_execution_options().get("sqlite_immediate"):
            _begin_immediate(conn)
        else:
            conn.exec_driver_sql("BEGIN")


def _use_write_ahead_log(cursor) -> None:
    """PRAGMA journal_mode=WAL, tried again while another connection holds the file: turning a new file to WAL
    needs it alone and SQLite answers "locked" without waiting (two processes starting on a new file)."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.001)


def _begin_immediate(conn) -> None:
    """BEGIN IMMEDIATE, waiting for another process's write lock in steps of a millisecond.

    SQLite's own busy handler sleeps in steps growing to 100 ms: beside a web server that holds the lock for a
    few milliseconds per intake, a worker's relay then waited about 120 ms for each claim (and a DM as long)."""
    conn.exec_driver_sql("PRAGMA busy_timeout=0")
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    try:
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if "locked" not in str(exc.orig) or time.monotonic() > deadline:
                    raise
            time.sleep(0.001)
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


_sqlite_write_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _sqlite_write_lock(engine: Engine) -> threading.Lock:
    with _locks_guard:
        return _sqlite_write_locks.setdefault(str(engine.url), threading.Lock())


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One write transaction: committed on success, rolled back on any error.

    On SQLite it holds the database write lock from the start (BEGIN IMMEDIATE), which makes
    read-then-write sequences such as the routing rotation atomic. On PostgreSQL callers lock
    the rows they change with SELECT ... FOR UPDATE.
    """
    if not is_sqlite(engine):
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
        return
    # Threads of one process queue here instead of in SQLite's busy handler, which sleeps in steps
    # of up to 100 ms; other processes (a separate worker) still wait on busy_timeout.
    with (
        _sqlite_write_lock(engine),
        Session(engine.execution_options(sqlite_immediate=True), expire_on_commit=False) as session,
        session.begin(),
    ):
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A write transaction that is always rolled back: simulations (the routing dry run) touch nothing."""
    bind = engine.execution_options(sqlite_immediate=True) if is_sqlite(engine) else engine
    lock = _sqlite_write_lock(engine) if is_sqlite(engine) else contextlib.nullcontext()
    with lock, Session(bind, expire_on_commit=False) as session:
        transaction = session.begin()
        try:
            yield session
        finally:
            transaction.rollback()


def one_at_a_time(session: Session, lock_key: int) -> None:
    """Within a write transaction, wait for any other transaction holding `lock_key` to finish.

    For work that reads and then inserts rows several processes could insert at once (start-up syncing
    the team, folding the report rollup). PostgreSQL: a transaction-level advisory lock, released at
    commit. SQLite: nothing to do, the write transaction already holds the database's one write lock.
    """
    if not is_sqlite(session.get_bind()):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key})


def model_defaults(model) -> Callable[[], dict[str, Any]]:
    """A function giving a table model's default for every column but the id (fresh lists and dicts each call):
    plain rows for a Core multi-row INSERT, where building one ORM object each costs more than the insert."""
    fields = {c.name: model.model_fields[c.name] for c in model.__table__.columns if c.name != "id"}
    fixed = {name: f.default for name, f in fields.items() if f.default_factory is None and not f.is_required()}
    made = {name: f.default_factory for name, f in fields.items() if f.default_factory is not None}
    return lambda: fixed | {name: factory() for name, factory in made.items()}


# Fewer rows go in as one INSERT: COPY and taking the ids first cost three round trips where the INSERT costs one.
COPY_FROM = 50


def insert_rows(session: Session, table: Any, rows: list[dict[str, Any]], *, with_ids: bool = False) -> list[int]:
    """Many new rows of one table (plain dicts with the same keys) at once; their ids in order if `with_ids`.

    SQLite, and a few rows on PostgreSQL (a live intake's group): a multi-row INSERT ... RETURNING. Many rows on
    PostgreSQL (an import's batch): COPY, in the session's transaction, with ids taken from the sequence first.
    An INSERT there costs either a statement per row (executemany) or, as multi-row VALUES, a giant statement that
    psycopg parses in Python (~0.5 ms a lead); COPY costs neither.
    """
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(rows) <= COPY_FROM:
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(connection.execute(statement, rows).scalars())
    ids: list[int] = []
    if with_ids:
        take = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")
        ids = sorted(connection.execute(take, {"table": table.name, "n": len(rows)}).scalars())
        rows = [row | {"id": row_id} for row, row_id in zip(rows, ids, strict=True)]
    columns = list(rows[0])
    # The same conversions an INSERT would make (aware datetimes to naive UTC, JSON to text).
    convert = [
        table.c[name].type.dialect_impl(connection.dialect).bind_processor(connection.dialect) for name in columns
    ]
    command = pg_sql.SQL("COPY {} ({}) FROM STDIN").format(
        pg_sql.Identifier(table.name), pg_sql.SQL(", ").join(pg_sql.Identifier(name) for name in columns)
    )
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(command) as copy:
        for row in rows:
            copy.write_row([to(row[name]) if to else row[name] for name, to in zip(columns, convert, strict=True)])
    return ids


class PlannerStatistics:
    """Fresh table statistics during a bulk load on PostgreSQL (SQLite has none to go stale).

    Autovacuum analyzes a table a minute or so after it changed; until then a table filled by an import still
    looks empty to the planner, which then reads it whole for each batch's lookups: an import slowed down as
    it went (100,000 rows: 250 s). ANALYZE each time the rows added have doubled: about 7 times for 100,000.
    """

    def __init__(self, engine: Engine, tables: list[str]):
        self.engine, self.tables = engine, tables
        self.added, self.next_at = 0, 1000

    def added_so_far(self, rows: int) -> None:
        """The load has added `rows` rows in all."""
        self.added = rows
        if self.added < self.next_at or is_sqlite(self.engine):
            return
        with self.engine.begin() as connection:
            connection.execute(text(f"ANALYZE {', '.join(self.tables)}"))
        self.next_at = self.added * 2
