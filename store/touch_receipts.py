"""Which touches logged from outside Slack were already taken in, by the sender's own activity id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from store.models import TouchReceipt


def remember_touch(session: Session, source: str, external_id: str, lead_id: int, now: datetime) -> bool:
    """True the first time (source, external_id) is seen; False for a replay, or two copies arriving at once."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted = session.exec(
        insert(TouchReceipt)
        .values(source=source, external_id=external_id, lead_id=lead_id, received_at=now)
        .on_conflict_do_nothing()
        .returning(TouchReceipt.source)
    ).first()
    return inserted is not None


def touch_received(session: Session, source: str, external_id: str) -> TouchReceipt | None:
    return session.get(TouchReceipt, (source, external_id))
