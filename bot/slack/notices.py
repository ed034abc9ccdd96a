"""What Leadbot tells the managers about its own deliveries."""

from __future__ import annotations

import re

from bot.slack.blocks import (
    SlackMessage,
    clip,
    escape,
    note,
)

# <@U1>, <#C1|name>, <!here>, <https://x|label>: Slack's references, kept as their visible text.
_SLACK_REFERENCE = re.compile(r"<([@#!]?)([^>|]*)(?:\|([^>]*))?>")


def undeliverable_notice(lead_id: int | None, target: str | None, error: str, text: str) -> SlackMessage:
    """For the managers' channel when Slack refuses a message for good (deactivated user, missing channel)."""
    who = f"<@{target}>" if target and target[:1] in ("U", "W") else (f"<#{target}>" if target else "its thread")
    about = f" about lead #{lead_id}" if lead_id else ""
    # `text` was built by Leadbot (lead data in it is escaped); its mentions and links are flattened so the
    # quote pings nobody twice, and it is clipped so the notice stays a notice.
    quoted = _SLACK_REFERENCE.sub(lambda m: m.group(3) or ("@" if m.group(1) != "#" else "#") + m.group(2), text)
    return note(f"Leadbot could not deliver a message{about} to {who} ({escape(error)}):\n>{clip(quoted, 500)}", "📭")


def crm_refusal_notice(lead_id: int | None, crm_label: str, error: str) -> SlackMessage:
    """For the managers' channel, once per cause, when the CRM refuses a write for good."""
    about = f"lead #{lead_id}" if lead_id else "a lead"
    return note(
        f"{crm_label} refused a write about {about}, so it was not made:\n>{escape(clip(error, 600))}\n"
        f"Other writes refused for the same reason are kept without another message. Once the cause is "
        f"fixed, `leadbot outbox retry --target {crm_label.lower()}` sends them all again.",
        "🧾",
    )
