"""The pieces every Slack message is built from: escaping, clipping, dates, and Block Kit helpers.

Lead fields are data, never markup: everything a lead sent us is escaped before it reaches
mrkdwn, and slack_sdk's block models check Slack's size limits when the blocks are built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ButtonElement,
    ConfirmObject,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.slack.ids import LeadAction
from store.models import Lead

MAX_MESSAGE_BLOCKS = 50


MAX_VIEW_BLOCKS = 100


@dataclass(frozen=True)
class SlackMessage:
    text: str
    blocks: list[dict]

    def as_payload(self) -> dict:
        return {"text": self.text, "blocks": self.blocks}


# A formatting mark where it could open a span: at the start or after anything but a letter or digit.
_FORMATTING_MARK = re.compile(r"(?<![0-9A-Za-z])([*_~`])")


def escape(value: object) -> str:
    """Lead data as text, never markup: `<!channel>` pings nobody, `<http://x|y>` links nowhere, `*x*` is not bold.

    Slack's three control characters become entities. Its formatting marks have no escape, so a zero-width
    space goes before one that could open a span (`*bold*` stays as typed; `first_last@x.com` is untouched).
    """
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FORMATTING_MARK.sub("\u200b\\1", text)


# What clip() never cuts in half: an entity escape() made, or Slack markup (<@U1>, <!date^…|…>, <http://…|…>).
_UNCUTTABLE = re.compile(r"&(?:amp|lt|gt);|<[^<>\n]*>")


def clip(value: str, limit: int) -> str:
    """At most `limit` characters, ending in … when cut; a cut through an entity or a mention moves before it."""
    if len(value) <= limit:
        return value
    cut = limit - 1
    for token in _UNCUTTABLE.finditer(value, max(0, cut - 300), cut + 300):
        if token.start() < cut < token.end():
            cut = token.start()
            break
    return value[:cut] + "…"


def slack_date(moment: datetime, tz: ZoneInfo, fmt: str = "{date_short_pretty} at {time}") -> str:
    """A date each reader sees in their own time zone; the fallback is in the team's zone."""
    local = moment.astimezone(tz)
    fallback = local.strftime("%b %d at %H:%M %Z")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{escape(fallback)}>"


def mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, 3000))


def field(label: str, value: object) -> MarkdownTextObject:
    # Clipped before it is escaped, so the cut lands in the text and never inside an entity.
    return MarkdownTextObject(text=clip(f"*{label}*\n{escape(clip(str(value), 300))}", 2000))


def button(
    label: str, action_id: str, value: str, style: str | None = None, confirm: ConfirmObject | None = None
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=label), action_id=action_id, value=value, style=style, confirm=confirm
    )


def finish(text: str, blocks: list, limit: int = MAX_MESSAGE_BLOCKS) -> SlackMessage:
    dicts = [block.to_dict() for block in blocks]  # to_dict() raises when a Slack limit is broken
    if len(dicts) > limit:
        raise ValueError(f"{len(dicts)} blocks is more than Slack's {limit}")
    return SlackMessage(text=clip(text, 3000), blocks=dicts)


def note(text: str, emoji: str) -> SlackMessage:
    return finish(text, [SectionBlock(text=mrkdwn(f"{emoji} {text}"))])


def lead_title(lead: Lead) -> str:
    company = f" ({lead.company})" if lead.company else ""
    return f"{lead.display_name}{company}"


# Which CRM holds a record, by the type Leadbot stored for it (HubSpot's are lower case).
_CRM_BY_RECORD_TYPE = {"contact": "HubSpot", "Lead": "Salesforce", "Contact": "Salesforce"}


def open_in_crm(lead: Lead) -> ButtonElement | None:
    """ "Open in HubSpot / Salesforce": a link to the lead's record, once the record exists."""
    if not lead.crm_record_url:
        return None
    label = _CRM_BY_RECORD_TYPE.get(lead.crm_record_type or "", "the CRM")
    return ButtonElement(
        text=PlainTextObject(text=f"Open in {label}"), action_id=LeadAction.OPEN_IN_CRM.value, url=lead.crm_record_url
    )
