"""SLA timers: scheduled, cancelled and claimed inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from store.models import Lead, Timer


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
    """The most overdue pending timer, marked fired, with its lead locked; None when nothing is due.

    The lead is locked first, as every click locks it first (locking the timer first would deadlock
    with a click that holds the lead and cancels its timers). PostgreSQL: FOR UPDATE OF lead SKIP
    LOCKED, so racing sweepers take different leads; when every due timer's lead is held for a moment
    (a click, the relay noting where a message went, another sweeper), wait for the first of them
    instead of leaving its timers to the next tick. SQLite: the caller's BEGIN IMMEDIATE already
    excludes other writers. Either way the guarded update makes a second claim of a row impossible.
    """
    due = (
        select(Timer)
        .join(Lead, col(Lead.id) == col(Timer.lead_id))
        .where(col(Timer.state) == "pending", col(Timer.due_at) <= now)
        .order_by(col(Timer.due_at), col(Timer.id))
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name != "postgresql":
        timer = session.exec(due).first()
        return timer if timer is not None and _mark_fired(session, timer, now) else None
    while True:
        timer = session.exec(due.with_for_update(skip_locked=True, of=Lead)).first()
        if timer is None:
            waiting = session.exec(due).first()
            if waiting is None:
                return None
            session.exec(select(Lead.id).where(col(Lead.id) == waiting.lead_id).with_for_update())
            timer = session.exec(due.where(col(Timer.lead_id) == waiting.lead_id)).first()
            if timer is None:
                continue  # another sweeper fired that lead's due timers meanwhile
        if _mark_fired(session, timer, now):
            return timer
        # Read before another sweeper's firing of it committed (only the lead row is re-read under the
        # lock, not the timer): another sweeper made progress, so look again.


def _mark_fired(session: Session, timer: Timer, now: datetime) -> bool:
    claimed = session.exec(
        update(Timer)
        .where(col(Timer.id) == timer.id, col(Timer.state) == "pending")
        .values(state="fired", fired_at=now)
    ).rowcount
    if claimed != 1:
        return False
    session.refresh(timer)
    return True


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
