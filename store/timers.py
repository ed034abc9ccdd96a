"""SLA timers: scheduled, cancelled and claimed inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from store.db import insert_rows
from store.models import Lead, Timer


def schedule(session: Session, *, lead_id: int, period: int, due: dict[str, datetime], now: datetime) -> None:
    """Add pending timers (kind → due time) in one statement; ones that already exist are left alone."""
    if not due:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # executemany with a statement built the same way each time: SQLAlchemy compiles it once.
    statement = insert(Timer).on_conflict_do_nothing(index_elements=["lead_id", "kind", "period"])
    session.exec(statement, params=_rows([(lead_id, period, due)], now))


def schedule_new_leads(session: Session, clocks: list[tuple[int, int, dict[str, datetime]]], now: datetime) -> None:
    """schedule() for many leads just inserted (so none has a timer yet): (lead id, idle period, kind → due)."""
    insert_rows(session, Timer.__table__, _rows(clocks, now))


def _rows(clocks: list[tuple[int, int, dict[str, datetime]]], now: datetime) -> list[dict]:
    return [
        {"lead_id": lead_id, "kind": kind, "period": period, "due_at": due_at, "state": "pending", "created_at": now}
        for lead_id, period, due in clocks
        for kind, due_at in due.items()
    ]


def cancel(session: Session, lead_id: int, kinds: tuple[str, ...] | None = None) -> int:
    query = update(Timer).where(col(Timer.lead_id) == lead_id, col(Timer.state) == "pending")
    if kinds is not None:
        query = query.where(col(Timer.kind).in_(kinds))
    return session.exec(query.values(state="cancelled")).rowcount


def carry_to_period(session: Session, lead_id: int, kinds: tuple[str, ...], period: int) -> int:
    """Move these pending timers into a new idle period, so that period's activity does not supersede them."""
    query = update(Timer).where(
        col(Timer.lead_id) == lead_id, col(Timer.state) == "pending", col(Timer.kind).in_(kinds)
    )
    return session.exec(query.values(period=period)).rowcount


# Due timers looked at per claim on PostgreSQL: the first whose lead nobody holds is taken.
_CANDIDATES = 20


def claim_next_due(session: Session, now: datetime) -> Timer | None:
    """The most overdue pending timer, marked fired, with its lead locked; None when nothing is due.

    The lead is locked first, as every click locks it first (locking the timer first would deadlock
    with a click that holds the lead and cancels its timers). PostgreSQL: of the most overdue timers,
    the first whose lead can be locked without waiting (SKIP LOCKED), so racing sweepers take different
    leads; when every one of them is held for a moment (a click, the relay noting where a message went,
    another sweeper), it waits for the first rather than leave its timers to the next tick. Each step
    is an index probe (a join locking the lead let the planner pick a nested loop over every lead).
    SQLite: the caller's BEGIN IMMEDIATE already excludes other writers. Either way the guarded update
    makes a second claim of a row impossible.
    """
    due = (
        select(Timer)
        .where(col(Timer.state) == "pending", col(Timer.due_at) <= now)
        .order_by(col(Timer.due_at), col(Timer.id))
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name != "postgresql":
        timer = session.exec(due.limit(1)).first()
        return timer if timer is not None and _mark_fired(session, timer, now) else None
    while True:
        leads = list(dict.fromkeys(session.exec(due.with_only_columns(Timer.lead_id).limit(_CANDIDATES)).all()))
        if not leads:
            return None
        lead_id = next((lead for lead in leads if _lock_lead(session, lead, wait=False)), None)
        if lead_id is None:
            lead_id = leads[0]
            _lock_lead(session, lead_id, wait=True)
        # The lead is ours, so its timers read as whoever held it left them.
        timer = session.exec(due.where(col(Timer.lead_id) == lead_id).limit(1)).first()
        if timer is not None and _mark_fired(session, timer, now):
            return timer
        # Another sweeper fired that lead's due timers meanwhile: look again.


def _lock_lead(session: Session, lead_id: int, *, wait: bool) -> bool:
    query = select(Lead.id).where(col(Lead.id) == lead_id).with_for_update(skip_locked=not wait)
    return session.exec(query).first() is not None


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


def bulk_insert(session: Session, rows: list[dict]) -> None:
    """Many timers at once (benchmarks seed open leads with this)."""
    if rows:
        session.exec(insert(Timer), params=rows)
