"""The App Home hash Slack gave Leadbot's last publish, per person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from store.models import HomeView


def published_hash(session: Session, user_id: str) -> str | None:
    row = session.get(HomeView, user_id)
    return row.hash if row else None


def remember_published(session: Session, user_id: str, view_hash: str, now: datetime) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(HomeView).values(user_id=user_id, hash=view_hash, published_at=now)
    session.exec(
        statement.on_conflict_do_update(
            index_elements=["user_id"], set_={"hash": statement.excluded.hash, "published_at": now}
        )
    )
