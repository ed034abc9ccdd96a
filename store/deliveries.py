"""Which Events API deliveries were already handled, so a retried one is done once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from store.models import SlackEventDelivery


def record_delivery(session: Session, event_id: str, now: datetime) -> bool:
    """True the first time an event_id is seen; False for a retry, or two copies arriving at once."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # RETURNING says whether the row went in (an INSERT's rowcount is not reported by every driver).
    inserted = session.exec(
        insert(SlackEventDelivery)
        .values(event_id=event_id, received_at=now)
        .on_conflict_do_nothing()
        .returning(SlackEventDelivery.event_id)
    ).first()
    return inserted is not None


def forget_deliveries_before(session: Session, before: datetime) -> int:
    """Slack stops retrying after minutes; older ids only take space."""
    return session.exec(delete(SlackEventDelivery).where(col(SlackEventDelivery.received_at) < before)).rowcount
