"""Rotation state per pool, read and advanced under a row lock."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from store.models import RoutingState


def ensure_pools(session: Session, pools: list[str]) -> None:
    """Create rotation rows up front so that assignment only ever locks an existing row."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for pool in pools:
        session.exec(insert(RoutingState).values(pool=pool, assigned_count=0).on_conflict_do_nothing())


def lock_rotation(session: Session, pool: str) -> RoutingState:
    """The pool's rotation row, locked (FOR UPDATE on PostgreSQL; SQLite's write lock is already held)."""
    state = session.exec(select(RoutingState).where(RoutingState.pool == pool).with_for_update()).first()
    if state is None:
        ensure_pools(session, [pool])
        state = session.exec(select(RoutingState).where(RoutingState.pool == pool).with_for_update()).one()
    return state


def record_turn(session: Session, state: RoutingState, slack_id: str) -> None:
    state.last_slack_id = slack_id
    state.assigned_count += 1
    session.add(state)
