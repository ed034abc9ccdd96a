"""SLA timers: scheduled, cancelled and claimed inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from store.models import Timer


def schedule(session: Session, *, lead_id: int, period: int, due: dict[str, datetime], now: datetime) -> None:
    """Add pending timers (kind → due time) in one statement; ones that already exist are left alone."""
    if not due:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = [
        {"lead_id": lead_id, "kind": kind, "period": period, "due_at": due_at, "state": "pending", "created_at": now}
        for kind, due_at in due.items()
    ]
    # executemany with a statement built the same way each time: SQLAlchemy compiles it once.
    statement = insert(Timer).on_conflict_do_nothing(index_elements=["lead_id", "kind", "period"])
    session.exec(statement, params=rows)


def cancel(session: Session, lead_id: int, kinds: tuple[str, ...] | None = None) -> int:
    query = update(Timer).where(col(Timer.lead_id) == lead_id, col(Timer.state) == "pending")
    if kinds is not None:
        query = query.where(col(Timer.kind).in_(kinds))
    return session.exec(query.values(state="cancelled")).rowcount


def claim_next_due(session: Session, now: datetime) -> Timer | None:
    """The most overdue pending timer, marked fired; None when nothing is due.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so racing sweepers take different rows. SQLite: the
    caller's BEGIN IMMEDIATE already excludes other writers. Either way the guarded update makes
    a second claim of the same row impossible.
    """
    query = (
        select(Timer)
        .where(col(Timer.state) == "pending", col(Timer.due_at) <= now)
        .order_by(col(Timer.due_at), col(Timer.id))
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    timer = session.exec(query).first()
    if timer is None:
        return None
    claimed = session.exec(
        update(Timer)
        .where(col(Timer.id) == timer.id, col(Timer.state) == "pending")
        .values(state="fired", fired_at=now)
    ).rowcount
    if claimed != 1:
        return None
    session.refresh(timer)
    return timer


def pending_for_lead(session: Session, lead_id: int) -> list[Timer]:
    return list(
        session.exec(
            select(Timer).where(Timer.lead_id == lead_id, Timer.state == "pending").order_by(col(Timer.due_at))
        ).all()
    )


def due_count(session: Session, now: datetime) -> int:
    return session.exec(
        select(func.count()).select_from(Timer).where(col(Timer.state) == "pending", col(Timer.due_at) <= now)
    ).one()


def next_due_at(session: Session) -> datetime | None:
    return session.exec(select(func.min(Timer.due_at)).where(col(Timer.state) == "pending")).one()


def bulk_insert(session: Session, rows: list[dict]) -> None:
    """Many timers at once (benchmarks seed open leads with this)."""
    if rows:
        session.exec(insert(Timer), params=rows)
