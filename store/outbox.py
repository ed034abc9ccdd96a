"""The outbox: Slack calls waiting to be sent, claimed by the relay with a lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from store.models import OutboxMessage


def enqueue(
    session: Session,
    *,
    target: str,
    method: str,
    payload: dict[str, Any],
    now: datetime,
    lead_id: int | None = None,
    ref: str | None = None,
) -> OutboxMessage:
    row = OutboxMessage(
        target=target,
        lead_id=lead_id,
        method=method,
        payload=payload,
        ref=ref,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    return row


@dataclass(frozen=True)
class Claimed:
    row: OutboxMessage
    in_doubt: bool  # an earlier send of it may have reached Slack (its sender died or lost the answer)


def claim_due(session: Session, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Due rows, oldest first, leased to this caller so no other relay sends them meanwhile.

    A row waits while an earlier row for the same lead and target is unsent: a message update must never
    overtake the post it updates, and one target's outage never holds back another's rows.
    """
    earlier = aliased(OutboxMessage)
    blocked = exists().where(
        and_(
            earlier.lead_id == OutboxMessage.lead_id,
            earlier.target == OutboxMessage.target,
            earlier.sent_at.is_(None),
            ~earlier.failed,
            earlier.id < OutboxMessage.id,
        )
    )
    query = (
        select(OutboxMessage)
        .where(
            col(OutboxMessage.sent_at).is_(None),
            ~col(OutboxMessage.failed),
            col(OutboxMessage.next_attempt_at) <= now,
            ~blocked,
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    claimed = []
    for row in session.exec(query).all():
        claimed.append(Claimed(row, in_doubt=row.in_flight))
        row.next_attempt_at = now + lease
        row.attempts += 1
        row.in_flight = True
        session.add(row)
    return claimed


def mark_sent(session: Session, message_id: int, now: datetime, channel: str | None, ts: str | None) -> None:
    session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.sent_at).is_(None))
        .values(sent_at=now, result_channel=channel, result_ts=ts, last_error=None, in_flight=False)
    )


def mark_retry(session: Session, message_id: int, retry_at: datetime, error: str, in_doubt: bool = False) -> None:
    """Try again at `retry_at`; `in_doubt` when the call may have reached Slack (no answer came back)."""
    session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(next_attempt_at=retry_at, last_error=error[:500], in_flight=in_doubt)
    )


def mark_failed(session: Session, message_id: int, error: str) -> None:
    session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(failed=True, last_error=error[:500], in_flight=False)
    )


def depth(session: Session) -> tuple[int, int, datetime | None]:
    """(unsent rows, failed rows, when the oldest unsent row was queued)."""
    pending = col(OutboxMessage.sent_at).is_(None) & ~col(OutboxMessage.failed)
    unsent, oldest = session.exec(
        select(func.count(), func.min(OutboxMessage.created_at)).select_from(OutboxMessage).where(pending)
    ).one()
    failed = session.exec(select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.failed))).one()
    return unsent, failed, oldest


def enqueue_once(
    session: Session,
    *,
    target: str,
    method: str,
    payload: dict[str, Any],
    now: datetime,
    ref: str,
    not_before: datetime | None = None,
) -> bool:
    """Queue a call unless one with the same ref is still waiting (refreshes coalesce); True if queued.

    A row a relay has already claimed does not count: it may have rendered before this change committed.
    """
    waiting = session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.ref == ref,
            col(OutboxMessage.sent_at).is_(None),
            ~col(OutboxMessage.failed),
            ~col(OutboxMessage.in_flight),
        )
    ).one()
    if waiting:
        return False
    row = enqueue(session, target=target, method=method, payload=payload, now=now, ref=ref)
    if not_before is not None:
        row.next_attempt_at = not_before
    return True
