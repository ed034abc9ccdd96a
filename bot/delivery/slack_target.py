"""Slack as a delivery target: where each kind of message goes, rendering at send time, and exactly once.

Transient failures (connection errors, 429, 5xx, each already retried by slack-sdk's handlers) end in
TryAgain; Slack's refusals (ok: false: a deactivated user, a missing channel) in Refused, reported to
the managers by the relay. A post whose answer was lost is looked for in Slack (by the outbox id in its
message metadata) before it is sent again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.delivery.app_home import publish_without_going_back
from bot.delivery.kinds import DM_IF_NO_ALERT, LEAD_MESSAGES, RENDER, RENDER_HOME, RENDER_LEAD_ALERT
from bot.delivery.relay import Delivered, Outcome, Refused, RetryPolicy, TryAgain
from bot.reports.metrics import Metrics
from store import leads as lead_store
from store.db import read_session
from store.models import Lead, OutboxMessage

log = logging.getLogger(__name__)

# Slack message metadata on every post: its outbox row, for finding a post whose answer was lost.
OUTBOX_EVENT = "leadbot_outbox_message"


@dataclass(frozen=True)
class SlackRenderers:
    """What is rendered when it is sent, from the data as it is then (built by the app factory)."""

    lead_alert: Callable[[Lead, str], dict]  # (lead, a version new for each redraw) → {"text", "blocks"}
    home: Callable[[str], dict]  # a person's id → their App Home view


def _about_lead(row: OutboxMessage) -> bool:
    return (row.ref.removesuffix("_thread") if row.ref else None) in LEAD_MESSAGES


class _Undeliverable(Exception):
    pass


class SlackTarget:
    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        clock: Clock,
        renderers: SlackRenderers,
        *,
        handoffs_channel: str | None,
        retry: RetryPolicy,
        metrics: Metrics | None = None,
    ):
        self.engine, self.client, self.clock, self.renderers = engine, client, clock, renderers
        self.handoffs_channel, self.retry, self.metrics = handoffs_channel, retry, metrics
        self._read_ahead = threading.local()  # per relay thread: the leads of the claim it is sending

    def prefetch(self, rows: list[OutboxMessage]) -> None:
        """Read the leads a claim's messages are about in one query, not one each (the relay calls this first).

        The claim is sent within milliseconds, and holds at most one row per lead, so each is still rendered from
        the lead as it is when sent; rows of another claim read for themselves."""
        about = [row for row in rows if row.lead_id is not None and _about_lead(row)]
        leads: dict[int, Lead] = {}
        if about:
            with read_session(self.engine) as session:
                leads = lead_store.get_leads(session, [row.lead_id for row in about])
        # Row id → its lead, or None when the lead is gone (an erasure): the row is refused, not read again.
        self._read_ahead.leads = {row.id: (leads.get(row.lead_id),) for row in about}

    def worth_looking_for(self, row: OutboxMessage) -> bool:
        return row.method == "chat.postMessage"  # updates and publishes can simply be sent again

    def deliver(self, row: OutboxMessage, in_doubt: bool) -> Outcome:
        # A post stays in doubt (it may already be in Slack) until Slack has been asked and has answered.
        still_in_doubt = in_doubt and self.worth_looking_for(row)
        try:
            payload = self._resolve(row)
            found = self._look_before_reposting(row, payload) if still_in_doubt else None
            still_in_doubt = False  # Slack answered the look-up (or refused it for good): no longer in doubt
            response = found or self._call(row, payload)
        except _Undeliverable as exc:
            return Refused(str(exc))
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") or f"HTTP {status}"
            self._count(row.method, error)
            if status == 429 or status >= 500:
                # Slack answered that it did not do it; a post the look-up could not check stays in doubt.
                return TryAgain(f"{row.method}: {error}", in_doubt=still_in_doubt)
            return Refused(f"{row.method}: {error}")
        except (SlackClientError, OSError) as exc:
            # No answer: the call may or may not have reached Slack, so the next try looks first.
            self._count(row.method, type(exc).__name__)
            return TryAgain(f"{row.method}: {type(exc).__name__}: {exc}", in_doubt=True)
        if not found:
            self._count(row.method, None)
        if row.ref == "alert" and row.method == "chat.postMessage" and self.metrics:
            self.metrics.alerts_sent.inc()
        created = row.ref if row.method == "chat.postMessage" and row.ref in LEAD_MESSAGES else None
        return Delivered(response.get("channel"), response.get("ts"), lead_message=created, found_earlier=bool(found))

    # -- what to send, and where ------------------------------------------------------------------
    def _resolve(self, row: OutboxMessage) -> dict:
        if row.payload.get(RENDER) == RENDER_HOME:
            return {"user_id": row.payload["user_id"]}  # rendered as it is published (_call)
        payload = self._resolve_lead_message(row)
        if row.method == "chat.postMessage":
            # Tagged, so that a post whose answer never came back can be found in Slack instead of posted twice.
            payload["metadata"] = {"event_type": OUTBOX_EVENT, "event_payload": {"outbox_id": row.id}}
        return payload

    def _resolve_lead_message(self, row: OutboxMessage) -> dict:
        """Render the alert if asked, and say where the lead's message lives for updates and thread replies.

        `ref` names one of the lead's messages (alert, escalation, handoff, claim). A chat.postMessage
        with that ref creates it (its ts is then kept on the lead); a chat.update with it edits it; a
        "<ref>_thread" post replies in its thread.
        """
        if not _about_lead(row):
            return dict(row.payload)
        base = row.ref.removesuffix("_thread")
        lead = self._lead(row)
        if lead is None:
            raise _Undeliverable("the lead this message is about is gone")
        payload = dict(row.payload)
        dm_instead = payload.pop(DM_IF_NO_ALERT, None)
        if payload.pop(RENDER, None) == RENDER_LEAD_ALERT:
            payload |= self.renderers.lead_alert(lead, str(row.id))
        if row.method == "chat.postMessage" and row.ref == base:
            return payload
        channel, ts = self._location(lead, base)
        if not ts and dm_instead and row.method == "chat.postMessage":
            return payload | {"channel": dm_instead}
        if not ts:
            raise _Undeliverable(f"the lead's {base} message was never posted, so there is nothing to edit")
        where = {"channel": channel} if channel else {}
        return payload | where | ({"thread_ts": ts} if row.ref != base else {"ts": ts})

    def _lead(self, row: OutboxMessage) -> Lead | None:
        read_ahead = getattr(self._read_ahead, "leads", {}).pop(row.id, None)
        if read_ahead is not None:
            return read_ahead[0]
        with read_session(self.engine) as session:
            return lead_store.get_lead(session, row.lead_id)

    def _location(self, lead: Lead, base: str) -> tuple[str | None, str | None]:
        """(channel, ts) of one of the lead's messages; channel None when the payload already names it."""
        return {
            "alert": (lead.alert_channel, lead.alert_ts),
            "escalation": (None, lead.escalation_ts),
            "handoff": (self.handoffs_channel, lead.handoff_ts),
            "claim": (None, lead.claim_ts),
        }[base]

    def _call(self, row: OutboxMessage, payload: dict) -> dict:
        if row.payload.get(RENDER) == RENDER_HOME:
            user_id = row.payload["user_id"]
            published = publish_without_going_back(
                self.engine, self.clock, self.client, user_id, lambda: self.renderers.home(user_id)
            )
            return published or {}
        if row.method == "chat.postMessage":
            # Lead data in a post is never unfurled: a company "website" or a link in a note previews nothing.
            payload = {**payload, "unfurl_links": False, "unfurl_media": False}
        return self.client.api_call(row.method, json=payload)

    # -- exactly once ------------------------------------------------------------------------------
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
