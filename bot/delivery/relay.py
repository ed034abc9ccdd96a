"""The outbox relay: sends the Slack calls that committed changes recorded, in order per lead.

A crash between the commit and the send delays a message; it never loses it. Transient failures
(connection errors, 429, 5xx, each already retried by slack-sdk's handlers) are tried again later
with backoff, until `give_up_after`. Slack's refusals (ok: false: a deactivated user, a missing
channel) are not retried: the row is kept as failed with the error, and the managers' channel is
told what could not be delivered, so no alert disappears silently.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.reports.home import publish_home
from bot.reports.metrics import Metrics
from bot.slack.alert import alert_for
from bot.slack.notices import undeliverable_notice
from store import leads as lead_store
from store import outbox as outbox_store
from store.db import read_session, write_session
from store.models import OutboxMessage

log = logging.getLogger(__name__)

# The lead's alert is rendered when it is sent, from the lead as it is then: the message is never
# stale, the outbox row stays small, and no Block Kit is built while the write lock is held.
RENDER_ALERT = {"render": "lead_alert"}


# A refresh waits this long, so a burst of changes makes one views.publish per person (a Tier 4 method)
# and alerts are never queued behind views being rendered.
HOME_REFRESH_DELAY = timedelta(seconds=30)


def refresh_homes(session, user_ids, now) -> None:
    """Re-publish these people's App Home after a change to their leads (rendered when sent, coalesced)."""
    for user_id in {u for u in user_ids if u}:
        outbox_store.enqueue_once(
            session,
            method="views.publish",
            payload={"render": "home", "user_id": user_id},
            now=now,
            ref=f"home:{user_id}",
            not_before=now + HOME_REFRESH_DELAY,
        )


# In an "alert_thread" post's payload: who gets it as a DM of its own when the lead's alert was never posted.
DM_IF_NO_ALERT = "dm_if_no_alert"

# Slack message metadata on every post: its outbox row, for finding a post whose answer was lost.
OUTBOX_EVENT = "leadbot_outbox_message"

# The messages a lead keeps track of (their ts is stored on the lead when they are posted).
LEAD_MESSAGES = ("alert", "escalation", "handoff", "claim")

# Longer than the slowest send (a 10 s timeout, and slack-sdk's six retries, two of them sleeping through
# Retry-After), and no longer: a process killed mid-send leaves its claimed rows to others after this.
LEASE = timedelta(minutes=3)
MAX_BACKOFF = timedelta(minutes=10)


class PermanentFailure(Exception):
    pass


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=5 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        clock: Clock,
        poll_every: float = 1.0,
        batch: int = 10,
        workers: int = 2,
        config: Config | None = None,
        metrics: Metrics | None = None,
    ):
        self.engine, self.client, self.clock, self.config = engine, client, clock, config
        self.metrics = metrics
        self.fallback_channel = config.channels.escalations if config else None
        self.give_up_after = config.delivery.give_up_after if config else timedelta(hours=24)
        self.poll_every, self.batch, self.workers = poll_every, batch, workers
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        # Rows this process is sending now: a lease that runs out mid-send (a clock that jumps) must
        # not let another worker of the same process send the row a second time.
        self._in_flight: set[int] = set()
        self._in_flight_lock = threading.Lock()

    # -- running in the background -------------------------------------------------------------
    def start(self) -> None:
        # Several senders, because a real Slack call takes tens of milliseconds; the lease and the
        # one-unsent-row-per-lead rule in claim_due keep them off each other's rows and in order.
        for n in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"outbox-relay-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def kick(self) -> None:
        """Something was just committed: send it now instead of at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.poll_every)
            self._wake.clear()
            try:
                while self.deliver_due() == self.batch and not self._stopping.is_set():
                    pass
            except Exception:  # keep relaying after a database hiccup; the rows are still there
                log.exception("outbox relay pass failed")

    # -- one pass, callable directly from tests ------------------------------------------------
    def deliver_due(self) -> int:
        # Claim under the in-flight lock: a row another thread of this process is still sending is
        # skipped, and one it has finished is already marked sent when this claim reads.
        with self._in_flight_lock:
            with write_session(self.engine) as session:
                claimed = outbox_store.claim_due(session, self.clock.now(), LEASE, self.batch)
            mine = [c for c in claimed if c.row.id not in self._in_flight]
            self._in_flight.update(c.row.id for c in mine)
        # claim_due hands out at most the oldest unsent row per lead, so sending in order is enough.
        try:
            for c in mine:
                self._deliver_guarded(c)
        finally:
            # Every row of the batch leaves the in-flight set, whatever happened to the others.
            with self._in_flight_lock:
                self._in_flight.difference_update(c.row.id for c in mine)
        return len(claimed)

    def _deliver_guarded(self, claimed: outbox_store.Claimed) -> None:
        """Deliver one row; an unexpected error (the database went away mid-render) puts only this row back."""
        row = claimed.row
        try:
            self._deliver(row, in_doubt=claimed.in_doubt)
        except Exception as exc:
            log.exception("outbox %s for lead %s raised; it will be retried", row.id, row.lead_id)
            # It may have reached Slack before the error (marking it sent failed), so a post is looked for first.
            try:
                self._retry_later(row, f"{type(exc).__name__}: {exc}", in_doubt=row.method == "chat.postMessage")
            except Exception:  # the database is still away: the lease hands the row out again later
                log.exception("outbox %s could not be put back; its lease will", row.id)

    def _deliver(self, row: OutboxMessage, in_doubt: bool = False) -> bool:
        # A post stays in doubt (it may already be in Slack) until Slack has been asked and has answered.
        still_in_doubt = in_doubt and row.method == "chat.postMessage"
        try:
            payload = dict(self._resolve(row))
            if row.method == "chat.postMessage":
                # Tagged, so that a post whose answer never came back can be found in Slack instead of posted twice.
                payload["metadata"] = {"event_type": OUTBOX_EVENT, "event_payload": {"outbox_id": row.id}}
            found = self._look_before_reposting(row, payload) if still_in_doubt else None
            still_in_doubt = False  # Slack answered the look-up (or refused it for good): no longer in doubt
            response = found or self._call(row, payload)
        except PermanentFailure as exc:
            self._fail(row, str(exc))
            return False
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") or f"HTTP {status}"
            self._count(row.method, error)
            if status == 429 or status >= 500:
                # Slack answered that it did not do it; a post the look-up could not check stays in doubt.
                self._retry_later(row, f"{row.method}: {error}", in_doubt=still_in_doubt)
            else:
                self._fail(row, f"{row.method}: {error}")
            return False
        except (SlackClientError, OSError) as exc:
            # No answer: the call may or may not have reached Slack, so the next try looks first.
            self._count(row.method, type(exc).__name__)
            self._retry_later(row, f"{row.method}: {type(exc).__name__}: {exc}", in_doubt=True)
            return False
        if found:
            log.warning("outbox %s for lead %s was already in Slack; not posted again", row.id, row.lead_id)
        else:
            self._count(row.method, None)
        if row.ref == "alert" and row.method == "chat.postMessage" and self.metrics:
            self.metrics.alerts_sent.inc()
        channel, ts = response.get("channel"), response.get("ts")
        with write_session(self.engine) as session:
            # The lead first, then its outbox row: the order every transaction takes locks in (an erasure
            # locks the leads, then their rows).
            if row.method == "chat.postMessage" and channel and ts and row.ref in LEAD_MESSAGES:
                lead_store.set_message_location(session, row.lead_id, row.ref, channel, ts)
            outbox_store.mark_sent(session, row.id, self.clock.now(), channel, ts)
        return True

    def _call(self, row: OutboxMessage, payload: dict) -> dict:
        if row.method == "views.publish" and row.payload.get("render") == "home":
            # Rendered and published with the hash of the view it replaces: see bot.home.publish_home.
            published = publish_home(self.engine, self.config, self.clock, self.client, row.payload["user_id"])
            return published or {}
        if row.method == "chat.postMessage":
            # Lead data in a post is never unfurled: a company "website" or a link in a note previews nothing.
            payload = {**payload, "unfurl_links": False, "unfurl_media": False}
        return self.client.api_call(row.method, json=payload)

    def _look_before_reposting(self, row: OutboxMessage, payload: dict) -> dict | None:
        """The earlier post if Slack has it. If Slack refuses the look-up itself (an app installed before the
        *:history scopes: missing_scope), posting again is better than never: at worst a duplicate.
        Rate limits and outages still end in a retry later."""
        try:
            return self._already_posted(row, payload)
        except SlackApiError as exc:
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                raise
            log.warning("outbox %s: could not look in Slack (%s); posting again", row.id, exc.response.get("error"))
            return None

    def _already_posted(self, row: OutboxMessage, payload: dict) -> dict | None:
        """The earlier post of this row, if it reached Slack: {"channel", "ts"}; None if Slack has no such message."""
        channel = payload.get("channel")
        if isinstance(channel, str) and channel[:1] in ("U", "W"):  # a DM is posted to the user; history needs its id
            channel = self.client.conversations_open(users=channel)["channel"]["id"]
        since = f"{row.created_at.timestamp() - 1:.6f}"
        if payload.get("thread_ts"):
            pages = self.client.conversations_replies(
                channel=channel, ts=payload["thread_ts"], oldest=since, include_all_metadata=True, limit=200
            )
        else:
            pages = self.client.conversations_history(
                channel=channel, oldest=since, include_all_metadata=True, limit=200
            )
        # Every page since the row was queued: in a busy channel the earlier post may be far down.
        for page in pages:  # slack-sdk follows response_metadata.next_cursor
            for message in page.get("messages", []):
                metadata = message.get("metadata") or {}
                if (
                    metadata.get("event_type") == OUTBOX_EVENT
                    and metadata.get("event_payload", {}).get("outbox_id") == row.id
                ):
                    return {"channel": channel, "ts": message["ts"]}
        return None

    def _count(self, method: str, error: str | None) -> None:
        if self.metrics:
            self.metrics.slack_calls.labels(method=method, outcome="error" if error else "ok").inc()
            if error:
                self.metrics.slack_errors.labels(method=method, error=error).inc()

    def _resolve(self, row: OutboxMessage) -> dict:
        if row.payload.get("render") == "home":
            return {"user_id": row.payload["user_id"]}  # rendered as it is published (_call)
        return self._resolve_lead_message(row)

    def _resolve_lead_message(self, row: OutboxMessage) -> dict:
        """Render the alert if asked, and say where the lead's message lives for updates and thread replies.

        `ref` names one of the lead's messages (alert, escalation, handoff, claim). A chat.postMessage
        with that ref creates it (its ts is then kept on the lead); a chat.update with it edits it; a
        "<ref>_thread" post replies in its thread.
        """
        base = row.ref.removesuffix("_thread") if row.ref else None
        if base not in LEAD_MESSAGES:
            return row.payload
        with read_session(self.engine) as session:
            lead = lead_store.get_lead(session, row.lead_id)
        if lead is None or self.config is None:
            raise PermanentFailure("the lead this message is about is gone")
        payload = dict(row.payload)
        dm_instead = payload.pop(DM_IF_NO_ALERT, None)
        if payload.pop("render", None) == "lead_alert":
            payload |= alert_for(lead, self.config, version=str(row.id)).as_payload()
        if row.method == "chat.postMessage" and row.ref == base:
            return payload
        channel, ts = self._location(lead, base)
        if not ts and dm_instead and row.method == "chat.postMessage":
            return payload | {"channel": dm_instead}
        if not ts:
            raise PermanentFailure(f"the lead's {base} message was never posted, so there is nothing to edit")
        where = {"channel": channel} if channel else {}
        return payload | where | ({"thread_ts": ts} if row.ref != base else {"ts": ts})

    def _location(self, lead, base: str) -> tuple[str | None, str | None]:
        """(channel, ts) of one of the lead's messages; channel None when the payload already names it."""
        return {
            "alert": (lead.alert_channel, lead.alert_ts),
            "escalation": (None, lead.escalation_ts),
            "handoff": (self.config.channels.handoffs, lead.handoff_ts),
            "claim": (None, lead.claim_ts),
        }[base]

    def _retry_later(self, row: OutboxMessage, error: str, in_doubt: bool = False) -> None:
        now = self.clock.now()
        if now - row.created_at >= self.give_up_after:
            self._fail(row, f"gave up after {row.attempts} attempts: {error}", tell_managers=False)
            return
        log.warning("outbox %s for lead %s will be retried: %s", row.id, row.lead_id, error)
        with write_session(self.engine) as session:
            outbox_store.mark_retry(session, row.id, now + _backoff(row.attempts), error, in_doubt=in_doubt)

    def _fail(self, row: OutboxMessage, error: str, tell_managers: bool = True) -> None:
        log.error("outbox %s for lead %s failed for good: %s", row.id, row.lead_id, error)
        with write_session(self.engine) as session:
            outbox_store.mark_failed(session, row.id, error)
            target = row.payload.get("channel")
            if tell_managers and self.fallback_channel and target != self.fallback_channel:
                shown = row.payload.get("text") or ("the lead's alert" if row.payload.get("render") else "")
                notice = undeliverable_notice(row.lead_id, target, error, shown)
                outbox_store.enqueue(
                    session,
                    method="chat.postMessage",
                    payload={"channel": self.fallback_channel, **notice.as_payload()},
                    now=self.clock.now(),
                )
