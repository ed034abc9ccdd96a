"""What the outbox carries: a target (Slack now; a CRM next) and, for Slack, a typed kind of message.

Callers say what they send (`Kind.ESCALATION` about lead 7), never a Web API method or a ref string:
this table is the one place that knows which Slack call each kind is and which of the lead's messages
it creates, edits or replies to.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Target(StrEnum):
    """Where a row is delivered. Each target brings its own retry policy, rate limit and look-up."""

    SLACK = "slack"
    HUBSPOT = "hubspot"
    SALESFORCE = "salesforce"


class Kind(StrEnum):
    ALERT = "alert"  # the owner's DM, rendered from the lead when sent; its ts is kept on the lead
    ALERT_REDRAW = "alert_redraw"  # the DM redrawn from the lead as it is when sent
    ALERT_REPLY = "alert_reply"  # a note in the DM's thread
    ESCALATION = "escalation"  # posted in the escalations channel; its ts is kept on the lead
    ESCALATION_UPDATE = "escalation_update"
    HANDOFF = "handoff"  # the SQL in the handoffs channel; its ts is kept on the lead
    HANDOFF_UPDATE = "handoff_update"
    HANDOFF_REPLY = "handoff_reply"
    CLAIM_OFFER = "claim_offer"  # offered in the unclaimed channel; its ts is kept on the lead
    CLAIM_OFFER_UPDATE = "claim_offer_update"
    NOTE = "note"  # a post nothing refers to later (a channel notice, a DM to an AE)
    HOME = "home"  # a person's App Home, rendered when sent, one waiting per person


@dataclass(frozen=True)
class SlackCall:
    method: str
    ref: str | None  # which of the lead's messages it creates (a post), edits (an update) or replies to ("_thread")


SLACK_CALLS: dict[Kind, SlackCall] = {
    Kind.ALERT: SlackCall("chat.postMessage", "alert"),
    Kind.ALERT_REDRAW: SlackCall("chat.update", "alert"),
    Kind.ALERT_REPLY: SlackCall("chat.postMessage", "alert_thread"),
    Kind.ESCALATION: SlackCall("chat.postMessage", "escalation"),
    Kind.ESCALATION_UPDATE: SlackCall("chat.update", "escalation"),
    Kind.HANDOFF: SlackCall("chat.postMessage", "handoff"),
    Kind.HANDOFF_UPDATE: SlackCall("chat.update", "handoff"),
    Kind.HANDOFF_REPLY: SlackCall("chat.postMessage", "handoff_thread"),
    Kind.CLAIM_OFFER: SlackCall("chat.postMessage", "claim"),
    Kind.CLAIM_OFFER_UPDATE: SlackCall("chat.update", "claim"),
    Kind.NOTE: SlackCall("chat.postMessage", None),
    Kind.HOME: SlackCall("views.publish", None),  # its ref is per person: see queue.refresh_homes
}

# The messages a lead keeps track of (their ts is stored on the lead when they are posted).
LEAD_MESSAGES = ("alert", "escalation", "handoff", "claim")

# In a payload: rendered when sent, from the data as it is then (the alert, an App Home).
RENDER = "render"
RENDER_LEAD_ALERT = "lead_alert"
RENDER_HOME = "home"

# In an alert reply's payload: who gets it as a DM of its own when the lead's alert was never posted.
DM_IF_NO_ALERT = "dm_if_no_alert"
