"""The outbox relay: delivers what committed changes queued, in order per lead and target.

A crash between the commit and the send delays a delivery; it never loses it. Each target (Slack now; a
CRM next) delivers one row at a time and says how it went; this module owns what follows, the same for
every target: marking it sent, trying again later by the target's retry policy until it gives up, or
keeping it as failed and reporting the refusal once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.clock import Clock
from bot.delivery.queue import DOORBELL
from store import leads as lead_store
from store import outbox as outbox_store
from store.db import write_session
from store.models import OutboxMessage

log = logging.getLogger(__name__)

# Longer than the slowest send (a 10 s timeout, and slack-sdk's six retries, two of them sleeping through
# Retry-After), and no longer: a process killed mid-send leaves its claimed rows to others after this.
LEASE = timedelta(minutes=3)


@dataclass(frozen=True)
class Delivered:
    channel: str | None = None
    ts: str | None = None
    lead_message: str | None = None  # which of the lead's messages this created (its location is kept)
    found_earlier: bool = False  # an earlier attempt had got through; nothing was sent again


@dataclass(frozen=True)
class TryAgain:
    error: str
    in_doubt: bool = False  # it may have got through: the next attempt looks before it sends
    wait: float | None = None  # seconds the target asked for (a rate limit's window), if longer than the policy's


@dataclass(frozen=True)
class Refused:
    error: str


Outcome = Delivered | TryAgain | Refused


@dataclass(frozen=True)
class RetryPolicy:
    """How a target is retried: waits doubling from `first_wait` up to `longest_wait`, for `give_up_after`."""

    first_wait: timedelta = timedelta(seconds=5)
    longest_wait: timedelta = timedelta(minutes=10)
    give_up_after: timedelta = timedelta(hours=24)

    def wait_before(self, attempts: int) -> timedelta:
        return min(self.first_wait * 2 ** max(attempts - 1, 0), self.longest_wait)

    def gives_up(self, queued_at: datetime, now: datetime) -> bool:
        return now - queued_at >= self.give_up_after


class DeliveryTarget(Protocol):
    retry: RetryPolicy

    def deliver(self, row: OutboxMessage, in_doubt: bool) -> Outcome:
        """Send one row (looking first for an earlier attempt that got through, when `in_doubt`)."""
        ...

    def worth_looking_for(self, row: OutboxMessage) -> bool:
        """Whether an attempt cut short could have left something to find before sending again."""
        ...


# Told once when a target refuses a row for good (the app factory queues a note to the managers).
ReportRefusal = Callable[[Session, OutboxMessage, str, datetime], None]


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        targets: dict[str, DeliveryTarget],
        *,
        report_refusal: ReportRefusal | None = None,
        poll_every: float = 1.0,
        batch: int = 10,
        workers: int = 2,
    ):
        self.engine, self.clock, self.targets, self.report_refusal = engine, clock, targets, report_refusal
        self.poll_every, self.batch, self.workers = poll_every, batch, workers
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        # Rows this process is sending now: a lease that runs out mid-send (a clock that jumps) must
        # not let another worker of the same process send the row a second time.
        self._in_flight: set[int] = set()
        self._in_flight_lock = threading.Lock()
        # In a web process beside workers: no background work, and messages only once they have waited this long
        # (the workers hear of them at once and send them; this is for when they are down or behind).
        self.take_background = True
        self.leaves_fresh_for = timedelta(0)

    # -- running in the background -------------------------------------------------------------
    def start(self) -> None:
        # Several senders, because a real Slack call takes tens of milliseconds; the lease and the
        # one-unsent-row-per-lead rule in claim_due keep them off each other's rows and in order.
        for n in range(self.workers):
            # The first sender takes messages only: a DM never waits behind an App Home being rendered (tens of
            # milliseconds for a rep with many leads) or a CRM's batch.
            background = n > 0 or self.workers == 1
            thread = threading.Thread(target=self._run, args=(background,), name=f"outbox-relay-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        DOORBELL.ring()
        for thread in self._threads:
            thread.join(timeout=10)

    def kick(self) -> None:
        """Look now rather than at the next poll (a clock that jumped made rows due; commits ring by themselves)."""
        DOORBELL.ring()

    def _run(self, background: bool) -> None:
        rings = 0
        while not self._stopping.is_set():
            if self.leaves_fresh_for:
                # Fresh rows are the workers' (a commit here rings the doorbell): looking at each would find nothing.
                self._stopping.wait(self.poll_every)
            else:
                rings = DOORBELL.wait(rings, self.poll_every)
            try:
                # Until nothing is due (a claim takes few background rows, so a short claim is not the end).
                while self.deliver_due(background) and not self._stopping.is_set():
                    pass
            except Exception:  # keep relaying after a database hiccup; the rows are still there
                log.exception("outbox relay pass failed")

    # -- one pass, callable directly from tests ------------------------------------------------
    def deliver_due(self, background: bool = True) -> int:
        """One claim, delivered and recorded: how many rows it held. Background work only with `background` (and
        only if this relay takes any: take_background)."""
        # Claim under the in-flight lock, leaving out the rows another thread of this process is still busy with:
        # one it has just set to retry is due again before that thread is done with it, and a lease taken on it
        # here (then skipped) parked it for the whole lease instead of its retry wait.
        now = self.clock.now()
        # A target that asked for quiet (a CRM's rate limit) is not claimed from: no row churns meanwhile.
        targets = [name for name, target in self.targets.items() if not _paused(target, now)]
        if not targets:
            return 0
        with self._in_flight_lock:
            with write_session(self.engine) as session:
                claimed = outbox_store.claim_due(
                    session, now, LEASE, self.batch, targets=targets, background=self.take_background and background,
                    sending=set(self._in_flight), waited=self.leaves_fresh_for,
                )  # fmt: skip
            self._in_flight.update(c.row.id for c in claimed)
        # claim_due hands out at most the oldest unsent row per lead and target: sending in order is enough, and
        # no row of a claim depends on another's result, so the claim is recorded at once when it is all sent.
        try:
            outcomes = self._deliver_claimed(claimed)
            self._record_all([(c.row, outcomes[c.row.id]) for c in claimed])
        finally:
            # Every row of the batch leaves the in-flight set, whatever happened to the others.
            with self._in_flight_lock:
                self._in_flight.difference_update(c.row.id for c in claimed)
        return len(claimed)

    def _deliver_claimed(self, claimed: list[outbox_store.Claimed]) -> dict[int, Outcome]:
        """Row id → outcome for every claimed row: in one call where a target can (a CRM's batch API), else one
        by one, after the target has read what the whole claim needs at once (Slack: the leads to render)."""
        outcomes: dict[int, Outcome] = {}
        for name, target in self.targets.items():
            mine = [c for c in claimed if c.row.target == name]
            fresh = [c.row for c in mine if not c.in_doubt]
            if len(fresh) > 1 and hasattr(target, "deliver_together"):
                try:
                    outcomes |= target.deliver_together(fresh)
                except Exception:  # the batch path is an optimisation: one by one still works
                    log.exception("batch delivery to %s failed; sending one by one", name)
            rest = [c for c in mine if c.row.id not in outcomes]
            if rest and hasattr(target, "prefetch"):
                try:
                    target.prefetch([c.row for c in rest])
                except Exception:  # each row then reads for itself, and fails on its own if it must
                    log.exception("reading ahead for %s failed", name)
            for c in rest:
                outcomes[c.row.id] = self._deliver(target, c.row, c.in_doubt)
        return outcomes

    def _deliver(self, target: DeliveryTarget, row: OutboxMessage, in_doubt: bool) -> Outcome:
        """One row's outcome; an unexpected error (the database went away mid-render) is a retry of this row only."""
        try:
            return target.deliver(row, in_doubt)
        except Exception as exc:
            log.exception("outbox %s for lead %s raised; it will be retried", row.id, row.lead_id)
            # It may have got through before the error (marking it sent failed): then it is looked for first.
            return TryAgain(f"{type(exc).__name__}: {exc}", in_doubt=target.worth_looking_for(row))

    def _record_all(self, outcomes: list[tuple[OutboxMessage, Outcome]]) -> None:
        """The rows delivered, in one transaction (the leads' message locations first, then the rows: the lock
        order every transaction takes); then each retry or refusal on its own."""
        delivered = [(row, outcome) for row, outcome in outcomes if isinstance(outcome, Delivered)]
        try:
            if delivered:
                self._record_delivered(delivered)
        except Exception:  # the database went away: the leases hand the rows out again, looked for in Slack first
            log.exception("%d delivered outbox rows could not be recorded; their leases will hand them out again",
                          len(delivered))  # fmt: skip
        for row, outcome in outcomes:
            if isinstance(outcome, Delivered):
                continue
            try:
                if isinstance(outcome, TryAgain):
                    self._retry_later(row, outcome)
                else:
                    self._fail(row, outcome.error, report=True)
            except Exception:  # the database is still away: the lease hands the row out again later
                log.exception("outbox %s could not be put back; its lease will", row.id)

    def _record_delivered(self, delivered: list[tuple[OutboxMessage, Delivered]]) -> None:
        for row, outcome in delivered:
            if outcome.found_earlier:
                log.warning("outbox %s for lead %s had already got through; not sent again", row.id, row.lead_id)
        posted = [
            lead_store.PostedMessage(row.lead_id, outcome.lead_message, outcome.channel, outcome.ts)
            for row, outcome in delivered
            if outcome.lead_message and outcome.channel and outcome.ts and row.lead_id is not None
        ]
        now = self.clock.now()
        with write_session(self.engine) as session:
            lead_store.record_posted_messages(session, posted, now)
            outbox_store.mark_sent_rows(session, [(row.id, o.channel, o.ts) for row, o in delivered], now)

    def _retry_later(self, row: OutboxMessage, outcome: TryAgain) -> None:
        now, policy = self.clock.now(), self.targets[row.target].retry
        if policy.gives_up(row.created_at, now):
            self._fail(row, f"gave up after {row.attempts} attempts: {outcome.error}", report=False)
            return
        log.warning("outbox %s for lead %s will be retried: %s", row.id, row.lead_id, outcome.error)
        with write_session(self.engine) as session:
            retry_at = now + max(policy.wait_before(row.attempts), timedelta(seconds=outcome.wait or 0))
            outbox_store.mark_retry(session, row.id, retry_at, outcome.error, in_doubt=outcome.in_doubt)

    def _fail(self, row: OutboxMessage, error: str, *, report: bool) -> None:
        log.error("outbox %s for lead %s failed for good: %s", row.id, row.lead_id, error)
        with write_session(self.engine) as session:
            outbox_store.mark_failed(session, row.id, error)
            if report and self.report_refusal:
                self.report_refusal(session, row, error, self.clock.now())


def _paused(target: DeliveryTarget, now: datetime) -> bool:
    until = target.paused_until() if hasattr(target, "paused_until") else None
    return until is not None and now < until
