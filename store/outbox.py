"""The outbox: Slack calls waiting to be sent, claimed by the relay with a lease."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, insert, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from store.db import UTCDateTime, insert_rows, model_defaults, one_at_a_time
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
    background: bool = False,
) -> OutboxMessage:
    row = OutboxMessage(
        target=target,
        lead_id=lead_id,
        method=method,
        payload=payload,
        ref=ref,
        background=background,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    return row


def enqueue_rows(session: Session, rows: list[dict[str, Any]], now: datetime) -> None:
    """Many deliveries at once (target, method, payload, lead_id, ref each), due now: an import's alerts."""
    if rows:
        defaults = model_defaults(OutboxMessage)
        rows = [defaults() | {"created_at": now, "next_attempt_at": now} | row for row in rows]
        insert_rows(session, OutboxMessage.__table__, rows)


@dataclass(frozen=True)
class Claimed:
    row: OutboxMessage
    in_doubt: bool  # an earlier send of it may have reached Slack (its sender died or lost the answer)


BACKGROUND_PER_CLAIM = 2


@functools.cache
def _claim_query(postgres: bool, with_sending: bool, with_targets: bool):
    """The claim's query, built once per shape: it is run after every commit that queued something, and building
    the expression took longer than running it. A row waits while an earlier row for the same lead and target
    is unsent (claim_due)."""
    earlier = aliased(OutboxMessage)
    blocked = exists().where(
        and_(
            earlier.lead_id == OutboxMessage.lead_id,
            earlier.target == OutboxMessage.target,
            earlier.sent_at.is_(None),
            ~earlier.failed,
            ~earlier.background,  # a redraw renders the lead as it is when sent: a later update may go first
            earlier.id < OutboxMessage.id,
        )
    )
    query = (
        select(OutboxMessage)
        .where(
            col(OutboxMessage.sent_at).is_(None),
            ~col(OutboxMessage.failed),
            col(OutboxMessage.next_attempt_at) <= bindparam("b_due", type_=UTCDateTime()),
            col(OutboxMessage.background) == bindparam("b_background"),
            ~blocked,
            *([col(OutboxMessage.id).not_in(bindparam("b_sending", expanding=True))] if with_sending else []),
            *([col(OutboxMessage.target).in_(bindparam("b_targets", expanding=True))] if with_targets else []),
        )
        .order_by(col(OutboxMessage.id))
        .limit(bindparam("b_limit"))
    )
    return query.with_for_update(skip_locked=True, of=OutboxMessage) if postgres else query


def claim_due(
    session: Session,
    now: datetime,
    lease: timedelta,
    limit: int,
    targets: list[str] | None = None,
    background: bool = True,
    sending: set[int] | frozenset[int] = frozenset(),
    waited: timedelta = timedelta(0),
) -> list[Claimed]:
    """Due rows (for these targets), messages before background work, oldest first, leased to this caller
    so no other relay sends them meanwhile. Without `background`, messages only (a web process beside workers).
    `sending`: rows the caller's own threads are still busy with; a row one of them has just set to retry is
    due again before that thread is done, and leasing it here would park it for the whole lease.
    `waited`: only rows due for at least this long (a web process leaves fresh ones to the workers).

    A row waits while an earlier row for the same lead and target is unsent: a message update must never
    overtake the post it updates, and one target's outage never holds back another's rows.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    filters = {"with_sending": bool(sending), "with_targets": targets is not None}

    def due(in_background: bool, count: int):
        params = {"b_due": now - waited, "b_background": in_background, "b_limit": count}
        params |= {"b_sending": list(sending), "b_targets": list(targets or [])}
        return list(session.exec(_claim_query(postgres, **filters), params=params).all())

    rows = due(False, limit)
    if background and len(rows) < limit:
        # A few background rows a claim: a message that arrives meanwhile waits for two of them at most.
        rows += due(True, min(limit - len(rows), BACKGROUND_PER_CLAIM))
    return _lease(session, rows, now + lease)


def _lease(session: Session, rows: list[OutboxMessage], until: datetime) -> list[Claimed]:
    """Lease the claimed rows in one statement (the ORM would flush an UPDATE per row); the rows say the same."""
    if not rows:
        return []
    table = OutboxMessage.__table__
    session.connection().execute(
        update(table)
        .where(table.c.id.in_([row.id for row in rows]))
        .values(next_attempt_at=until, attempts=table.c.attempts + 1, in_flight=True)
    )
    claimed = [Claimed(row, in_doubt=row.in_flight) for row in rows]
    for row in rows:
        session.expunge(row)  # detached first, so that these changes are not flushed a second time
        row.next_attempt_at, row.attempts, row.in_flight = until, row.attempts + 1, True
    return claimed


_MARK_SENT = (
    update(OutboxMessage.__table__)
    .where(OutboxMessage.__table__.c.id == bindparam("b_id"), OutboxMessage.__table__.c.sent_at.is_(None))
    .values(
        sent_at=bindparam("b_now", type_=UTCDateTime()), result_channel=bindparam("b_channel"),
        result_ts=bindparam("b_ts"), last_error=None, in_flight=False,
    )
)  # fmt: skip


def mark_sent_rows(session: Session, sent: list[tuple[int, str | None, str | None]], now: datetime) -> None:
    """Rows delivered: (id, channel, ts) each, in one statement (a relay records its whole claim at once)."""
    if sent:
        params = [{"b_id": i, "b_channel": channel, "b_ts": ts, "b_now": now} for i, channel, ts in sorted(sent)]
        session.connection().execute(_MARK_SENT, params)


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


def depth(session: Session, target: str = "slack") -> tuple[int, int, datetime | None]:
    """(unsent rows, failed rows, when the oldest unsent row was queued) for one target."""
    pending = col(OutboxMessage.sent_at).is_(None) & ~col(OutboxMessage.failed) & (OutboxMessage.target == target)
    unsent, oldest = session.exec(
        select(func.count(), func.min(OutboxMessage.created_at)).select_from(OutboxMessage).where(pending)
    ).one()
    failed = session.exec(
        select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.failed), OutboxMessage.target == target)
    ).one()
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
    """Queue a background call unless one with the same ref is still waiting (refreshes coalesce); True if queued.

    A row a relay has already claimed does not count: it may have rendered before this change committed.
    """
    values = _outbox_defaults() | {
        "target": target, "method": method, "payload": payload, "ref": ref, "background": True,
        "created_at": now, "next_attempt_at": not_before or now,
    }  # fmt: skip
    session.flush()  # rows queued before this one keep their place (ids in the order things were queued)
    result = session.connection().execute(_enqueue_once_statement(), {f"b_{name}": v for name, v in values.items()})
    return result.rowcount == 1


_outbox_defaults = model_defaults(OutboxMessage)


@functools.cache
def _enqueue_once_statement():
    """INSERT ... SELECT ... WHERE NOT EXISTS: the look and the insert in one statement (an App Home refresh is
    asked for by every intake)."""
    table = OutboxMessage.__table__
    columns = [column for column in table.columns if column.name != "id"]
    waiting = exists().where(
        table.c.ref == bindparam("b_ref"), table.c.sent_at.is_(None), ~table.c.failed, ~table.c.in_flight
    )
    values = select(*[bindparam(f"b_{column.name}", type_=column.type) for column in columns]).where(~waiting)
    return insert(table).from_select([column.name for column in columns], values)


# Held while a refusal decides whether its cause was already told (two relay threads failing rows at once).
_REFUSAL_LOCK = 7_116_001


def failed_before(session: Session, target: str, error: str, excluding_id: int) -> bool:
    """Whether another row for this target has already failed with this very error (its cause was reported).

    Asked one transaction at a time: two rows refused for the same cause at once, each in its own transaction,
    both found no other and both were told."""
    one_at_a_time(session, _REFUSAL_LOCK)
    return (
        session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.target == target,
                col(OutboxMessage.failed),
                OutboxMessage.last_error == error[:500],
                OutboxMessage.id != excluding_id,
            )
        ).one()
        > 0
    )


def retry_failed(session: Session, now: datetime, target: str | None = None) -> int:
    """Put failed rows (of one target, or all) back in the queue, due now; how many."""
    query = update(OutboxMessage).where(col(OutboxMessage.failed))
    if target is not None:
        query = query.where(OutboxMessage.target == target)
    # Due at once (when it was first queued, so any instance's clock finds it due); its give-up window restarts now.
    values = {"failed": False, "next_attempt_at": OutboxMessage.created_at, "created_at": now, "attempts": 0}
    result = session.exec(query.values(**values))
    return result.rowcount


def failures_by_cause(session: Session, target: str, limit: int = 20) -> dict[str, int]:
    """Failed rows of a target by their error (a CRM's refusals name their cause first)."""
    rows = session.exec(
        select(OutboxMessage.last_error, func.count())
        .where(OutboxMessage.target == target, col(OutboxMessage.failed))
        .group_by(OutboxMessage.last_error)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    return {error or "unknown": count for error, count in rows}


def post_waiting(session: Session, lead_id: int, ref: str) -> bool:
    """Whether the post that creates this lead message (ref "alert", ...) is queued and not sent yet."""
    return (
        session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.lead_id == lead_id,
                OutboxMessage.ref == ref,
                OutboxMessage.method == "chat.postMessage",
                col(OutboxMessage.sent_at).is_(None),
                ~col(OutboxMessage.failed),
            )
        ).one()
        > 0
    )


OWNER_WRITES = ("owner", "record")  # the CRM writes that carry an owner (bot.crm.changes.Change)


def owner_written_near(
    session: Session, target: str, lead_id: int, owner: str, around: datetime, within: timedelta
) -> bool:
    """Whether Leadbot itself wrote this owner to the CRM about then (or is writing it now): an echo."""
    rows = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.target == target,
            OutboxMessage.lead_id == lead_id,
            col(OutboxMessage.method).in_(OWNER_WRITES),
        )
    ).all()
    for row in rows:
        if (row.payload or {}).get("owner") != owner:
            continue
        if row.sent_at is None and row.in_flight:
            return True
        if row.sent_at is not None and abs(row.sent_at - around) <= within:
            return True
    return False


def supersede_owner_writes(session: Session, target: str, lead_id: int, now: datetime, why: str) -> bool:
    """Drop the owner updates still waiting for this lead (a newer owner was set in the CRM itself).

    Returns whether one is being sent at this moment (claimed by a relay), which cannot be called back: the
    caller writes the newer owner after it. Dropped rows count as sent, with `why` as their note.
    """
    waiting = (
        col(OutboxMessage.sent_at).is_(None),
        ~col(OutboxMessage.failed),
        OutboxMessage.target == target,
        OutboxMessage.lead_id == lead_id,
        OutboxMessage.method == "owner",
    )
    session.exec(
        update(OutboxMessage).where(*waiting, ~col(OutboxMessage.in_flight)).values(sent_at=now, last_error=why[:500])
    )
    in_flight = session.exec(select(func.count()).select_from(OutboxMessage).where(*waiting)).one()
    return in_flight > 0
