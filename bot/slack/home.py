"""The App Home tab, by role: an SDR's queue, an AE's waiting SQLs, a manager's team today."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    HeaderBlock,
    PlainTextObject,
    SectionBlock,
)

from bot.core.config import Config
from bot.core.durations import format_duration
from bot.slack.alert import lead_controls
from bot.slack.blocks import (
    MAX_VIEW_BLOCKS,
    clip,
    escape,
    lead_title,
    mrkdwn,
    slack_date,
)
from bot.slack.handoff import decision_buttons
from store.models import Lead, Stage


def _timing(lead: Lead, now: datetime) -> str:
    if lead.first_touch_at is None and lead.first_touch_due_at:
        left = lead.first_touch_due_at - now
        if left.total_seconds() >= 0:
            return f"first touch due in {format_duration(left)}"
        return f"⚠️ first touch overdue by {format_duration(left)}"
    return Stage(lead.stage).label


def _home(title: str, blocks: list) -> dict:
    header = HeaderBlock(text=PlainTextObject(text=clip(title, 150)))
    return {"type": "home", "blocks": [b.to_dict() for b in [header, *blocks][:MAX_VIEW_BLOCKS]]}


def home_view(name: str, leads: list[Lead], tz: ZoneInfo, now: datetime) -> dict:
    """An SDR's App Home: their open leads, soonest due first, with the same actions as the DM."""
    blocks: list = []
    if not leads:
        blocks.append(SectionBlock(text=mrkdwn("No open leads. New ones arrive here and in your DMs.")))
    for lead in leads[: (MAX_VIEW_BLOCKS - 1) // 2]:
        blocks.append(
            SectionBlock(
                text=mrkdwn(
                    f"*{escape(lead_title(lead))}* · score {lead.score} · {_timing(lead, now)}\n"
                    f"Lead #{lead.id} · {escape(lead.email)}"
                )
            )
        )
        # A new block_id every render (see lead_alert), so a menu never shows a choice made on an older one.
        controls = lead_controls(lead, f"home:{lead.id}:actions:{now.timestamp():.3f}")
        if controls:
            blocks.append(controls)
    return _home(f"Open leads for {name}", blocks)


def ae_home_view(name: str, sqls: list[Lead], config: Config) -> dict:
    """An AE's App Home: the SQLs waiting for them to accept or reject."""
    blocks: list = []
    if not sqls:
        blocks.append(SectionBlock(text=mrkdwn("No SQLs are waiting for you.")))
    for lead in sqls[: (MAX_VIEW_BLOCKS - 1) // 2]:
        notes = clip((lead.qualification or {}).get("notes", ""), 300)
        blocks.append(
            SectionBlock(
                text=mrkdwn(
                    f"*{escape(lead_title(lead))}* from <@{lead.owner_id}> · score {lead.score}\n{escape(notes)}"
                )
            )
        )
        blocks.append(decision_buttons(lead, f"home:{lead.id}:handoff"))
    return _home(f"SQLs waiting for {name}", blocks)


def manager_home_view(
    name: str, today_text: str, escalated: list[Lead], away: dict, tz: ZoneInfo, names: dict[str, str]
) -> dict:
    """A manager's App Home: the team today, escalations still waiting, and who is away."""
    blocks: list = [SectionBlock(text=mrkdwn(today_text))]
    if escalated:
        listed = "\n".join(f"• #{lead.id} {escape(lead_title(lead))} (<@{lead.owner_id}>)" for lead in escalated[:20])
        blocks.append(SectionBlock(text=mrkdwn(f"*Escalations waiting*\n{listed}")))
    else:
        blocks.append(SectionBlock(text=mrkdwn("*Escalations waiting*: none.")))
    if away:
        people = "\n".join(
            f"• {escape(names.get(rep, rep))}" + (f" until {slack_date(until, tz)}" if until else "")
            for rep, until in away.items()
        )
        blocks.append(SectionBlock(text=mrkdwn(f"*Away*\n{people}")))
    return _home(f"Team today, for {name}", blocks)
