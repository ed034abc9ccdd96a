"""Queueing a delivery inside the caller's transaction, and waking the relay once that transaction commits.

A change and the messages it causes commit together (the outbox pattern); the relay is woken by the commit
itself (a session `after_commit` hook rings a doorbell it waits on), so no caller has to remember to.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.delivery.kinds import (
    DM_IF_NO_ALERT,
    RENDER,
    RENDER_HOME,
    RENDER_LEAD_ALERT,
    SLACK_CALLS,
    Kind,
    Target,
)
from store import outbox as outbox_store
from store import wakeups

# A refresh waits this long, so a burst of changes makes one views.publish per person (a Tier 4 method)
# and alerts are never queued behind views being rendered.
HOME_REFRESH_DELAY = timedelta(seconds=30)


class Doorbell:
    """Rung after every commit that queued something; relays wait on it instead of polling."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._rings = 0

    def ring(self) -> None:
        with self._condition:
            self._rings += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Until rung after `seen` (or the timeout); the count to pass next time."""
        with self._condition:
            self._condition.wait_for(lambda: self._rings != seen, timeout)
            return self._rings


DOORBELL = Doorbell()


def _ring_after_commit(session: Session) -> None:
    if not session.info.get("rings_doorbell"):
        session.info["rings_doorbell"] = True
        event.listen(session, "after_commit", lambda _session: DOORBELL.ring(), once=True)
        wakeups.announce(session)  # and the relays of other processes (store.wakeups)


class CommitWatcher:
    """Rings this process's doorbell when another process commits something to send (store.wakeups), so that
    a relay here sends it at once: a web server's DM from a worker's relay, one instance's from another's."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=wakeups.watch, args=(self.engine, DOORBELL.ring, self._stopping), name="commit-watcher", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._thread.join(timeout=5)


def send(
    session: Session,
    kind: Kind,
    *,
    now: datetime,
    lead_id: int | None = None,
    to: str | None = None,
    message: Any = None,
    dm_if_no_alert: str | None = None,
    background: bool = False,
    not_before: datetime | None = None,
) -> None:
    """Queue one Slack message of `kind` about `lead_id`, sent once this transaction commits.

    `to` is a channel or a person for a post that names where it goes (an alert, a note); `message` is a
    built message (`as_payload()`), except for the alert, which is rendered when it is sent.
    """
    call = SLACK_CALLS[kind]
    row = outbox_store.enqueue(
        session,
        target=Target.SLACK,
        method=call.method,
        payload=_payload(kind, to, message, dm_if_no_alert),
        now=now,
        lead_id=lead_id,
        ref=call.ref,
        background=background,
    )
    if not_before is not None:
        row.next_attempt_at = not_before
    _ring_after_commit(session)


def send_alerts(session: Session, alerts: list[tuple[int, str]], *, now: datetime) -> None:
    """Queue many new leads' alerts at once, (lead id, owner) each: send(Kind.ALERT, ...) for an import's batch."""
    call = SLACK_CALLS[Kind.ALERT]
    rows = [
        {"target": Target.SLACK, "method": call.method, "payload": _payload(Kind.ALERT, owner, None, None),
         "lead_id": lead_id, "ref": call.ref}
        for lead_id, owner in alerts
    ]  # fmt: skip
    outbox_store.enqueue_rows(session, rows, now)
    if rows:
        _ring_after_commit(session)


def _payload(kind: Kind, to: str | None, message: Any, dm_if_no_alert: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if kind in (Kind.ALERT, Kind.ALERT_REDRAW):
        payload[RENDER] = RENDER_LEAD_ALERT
    elif message is not None:
        payload.update(message.as_payload())
    if to:
        payload["channel"] = to
    if dm_if_no_alert:
        payload[DM_IF_NO_ALERT] = dm_if_no_alert
    return payload


def send_to_crm(session: Session, target: Target, change: str, *, now: datetime, lead_id: int, data: dict) -> None:
    """Queue one write to the team's CRM about `lead_id` (what `change` means is bot/crm's business)."""
    outbox_store.enqueue(session, target=target, method=change, payload=data, now=now, lead_id=lead_id)
    _ring_after_commit(session)


LINK_REDRAW_DELAY = timedelta(seconds=20)


def redraw_alert_if_posted(session: Session, lead_id: int, alert_ts: str | None, now: datetime) -> None:
    """Redraw the lead's DM if it was posted or is about to be (the redraw waits behind the post)."""
    if alert_ts or outbox_store.post_waiting(session, lead_id, "alert"):
        # Background, and a little later: during a burst (one redraw per lead) new leads' DMs go out first,
        # and a touch logged meanwhile redraws the DM with its link anyway.
        send(session, Kind.ALERT_REDRAW, now=now, lead_id=lead_id, background=True, not_before=now + LINK_REDRAW_DELAY)


def refresh_homes(session: Session, user_ids, now: datetime) -> None:
    """Re-publish these people's App Home after a change to their leads (rendered when sent, coalesced)."""
    for user_id in {u for u in user_ids if u}:
        queued = outbox_store.enqueue_once(
            session,
            target=Target.SLACK,
            method=SLACK_CALLS[Kind.HOME].method,
            payload={RENDER: RENDER_HOME, "user_id": user_id},
            now=now,
            ref=f"home:{user_id}",
            not_before=now + HOME_REFRESH_DELAY,
        )
        if queued:
            _ring_after_commit(session)
