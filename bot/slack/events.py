"""Events API deliveries: Slack retries an event it thinks we missed, so each event_id is acted on once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from store import deliveries as delivery_store
from store.db import write_session

# Slack retries three times over about five minutes; a day of ids is plenty to recognise a retry.
KEEP_DELIVERIES = timedelta(days=1)


def first_delivery(engine: Engine, clock: Clock, event_id: str | None) -> bool:
    """True when this event has not been handled before (an event without an id cannot be recognised)."""
    if not event_id:
        return True
    with write_session(engine) as session:
        return delivery_store.record_delivery(session, event_id, clock.now())


def forget_old_deliveries(engine: Engine, clock: Clock) -> int:
    with write_session(engine) as session:
        return delivery_store.forget_deliveries_before(session, clock.now() - KEEP_DELIVERIES)
