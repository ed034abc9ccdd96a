"""The owner's DM for a lead, and the notes posted in its thread."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    ContextBlock,
    HeaderBlock,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from bot.core.config import Config
from bot.core.durations import format_config_duration, format_duration
from bot.lifecycle.codes import ContactMethod, where_logged
from bot.lifecycle.stages import Move, is_worked, may
from bot.slack.blocks import (
    SlackMessage,
    button,
    clip,
    escape,
    field,
    finish,
    lead_title,
    mrkdwn,
    note,
    open_in_crm,
    slack_date,
)
from bot.slack.ids import (
    ContactChoice,
    LeadAction,
    LeadRef,
)
from store.models import Lead, Stage


def _contacted_menu(lead: Lead) -> StaticSelectElement:
    """Contacted via… (the first touch), then Log another touch…; each option records the next touch."""
    number = lead.touch_count + 1
    options = [
        Option(
            text=PlainTextObject(text=method.label),
            value=ContactChoice(lead_id=lead.id, via=method, touch=number).model_dump_json(),
        )
        for method in ContactMethod
    ]
    return StaticSelectElement(
        action_id=LeadAction.CONTACTED.value,
        placeholder=PlainTextObject(text="Contacted via…" if number == 1 else "Log another touch…"),
        options=options,
    )


def first_touch_summary(lead: Lead, sla: timedelta) -> str:
    """'4m 12s after assignment, within the 15m SLA' (or how far over it)."""
    took = lead.first_touch_at - (lead.assigned_at or lead.created_at)
    verdict = (
        f"within the {format_config_duration(sla)} SLA"
        if took <= sla
        else f"{format_duration(took - sla)} over the {format_config_duration(sla)} SLA"
    )
    return f"{format_duration(took)} after assignment, {verdict}"


def lead_alert(lead: Lead, *, sla: timedelta, mql_threshold: int, tz: ZoneInfo, version: str = "0") -> SlackMessage:
    """The owner's DM for a lead. Rebuilt from the lead's current state every time it changes.

    `version` is new for every redraw: it goes into the block_id of the Contacted menu, because Slack keeps
    a static select's last choice on screen while the block_id stays the same.
    """
    hot = "🔥 " if lead.hot else ""
    blocks: list = [HeaderBlock(text=PlainTextObject(text=clip(f"{hot}New lead: {lead_title(lead)}", 150)))]
    blocks += _who_and_why(lead, mql_threshold)
    blocks += _touch_blocks(lead, sla, tz)
    status = outcome_line(lead)
    if status:
        blocks.append(SectionBlock(text=mrkdwn(status)))
    controls = lead_controls(lead, f"lead:{lead.id}:actions:{version}")
    link = open_in_crm(lead)
    if controls:
        blocks.append(controls)
    if link:
        blocks.append(ActionsBlock(block_id=f"lead:{lead.id}:links", elements=[link]))
    blocks.append(ContextBlock(elements=[mrkdwn(f"Lead #{lead.id} · {escape(lead.email)}")]))
    return finish(_alert_text(lead, sla, tz, status), blocks)


def _who_and_why(lead: Lead, mql_threshold: int) -> list:
    """Who the lead is, what they scored and why, and why it came to this owner."""
    who = f"*{escape(lead.display_name)}*"
    if lead.title:
        who += f", {escape(lead.title)}"
    if lead.company:
        who += f" at *{escape(lead.company)}*"
    contact = " · ".join(escape(v) for v in (lead.email, lead.phone) if v)
    blocks: list = [SectionBlock(text=mrkdwn(f"{who}\n{contact}"))]
    facts = [
        ("Company", lead.company),
        ("Title", lead.title),
        ("Company size", lead.company_size),
        ("Country", lead.country),
        ("Industry", lead.industry),
        ("Source", lead.lead_source),
    ]
    fields = [field(label, value) for label, value in facts if value]
    if fields:
        blocks.append(SectionBlock(fields=fields[:10]))
    reasons = "\n".join(f"• {r['points']:+d} {escape(r['detail'])}" for r in lead.score_reasons) or "• no rule applied"
    mql = " · MQL" if lead.score >= mql_threshold else ""
    blocks.append(SectionBlock(text=mrkdwn(f"*Score {lead.score}*{mql} (MQL at {mql_threshold})\n{reasons}")))
    blocks.append(ContextBlock(elements=[mrkdwn(f"*Why you:* {escape(lead.routing_reason or 'assigned')}")]))
    return blocks


def _touch_blocks(lead: Lead, sla: timedelta, tz: ZoneInfo) -> list:
    """When the first touch is due, or who made it and how fast; the latest touch when there were more."""
    stage = Stage(lead.stage).label
    if lead.first_touch_at is None:
        due = slack_date(lead.first_touch_due_at, tz, "{time}") if lead.first_touch_due_at else "soon"
        return [
            SectionBlock(
                text=mrkdwn(f"⏱ *First touch due by {due}* ({format_config_duration(sla)} SLA) · Stage: {stage}")
            )
        ]
    when = slack_date(lead.first_touch_at, tz, "{time}")
    contacted = (
        f"✅ *Contacted* by <@{lead.first_touch_by}> via {_via(lead.first_touch_via, lead.first_touch_source)} "
        f"at {when}: {first_touch_summary(lead, sla)}\nStage: {stage}"
    )
    blocks: list = [SectionBlock(text=mrkdwn(contacted))]
    if lead.touch_count > 1 and lead.last_touch_at:
        last = (
            f"Last touch: {_via(lead.last_touch_via, lead.last_touch_source)} by <@{lead.last_touch_by}>, "
            f"{slack_date(lead.last_touch_at, tz)} · {lead.touch_count} touches"
        )
        blocks.append(ContextBlock(elements=[mrkdwn(last)]))
    return blocks


def _via(method: str | None, source: str | None = None) -> str:
    """ "Call", or "Email, logged in HubSpot" for a touch logged outside Slack."""
    label = ContactMethod(method).label if method else "unknown"
    return f"{label}, logged {where_logged(source)}" if source else label


def _alert_text(lead: Lead, sla: timedelta, tz: ZoneInfo, status: str | None) -> str:
    """The notification's text: it must read well alone (a push, a screen reader)."""
    if status:
        return f"{escape(lead_title(lead))}: {status}"
    if lead.first_touch_at is None:
        due_text = lead.first_touch_due_at.astimezone(tz).strftime("%H:%M %Z") if lead.first_touch_due_at else "soon"
        return f"New lead for you: {escape(lead_title(lead))}, score {lead.score}. First touch due by {due_text}."
    return f"{escape(lead_title(lead))}: contacted via {_via(lead.first_touch_via)}, {first_touch_summary(lead, sla)}."


def outcome_line(lead: Lead) -> str | None:
    """Where the lead stands after qualification, in one line (None while it is being worked)."""
    outcome = lead.outcome or {}
    notes = f": {escape(outcome['notes'])}" if outcome.get("notes") else ""
    if lead.is_erased:
        return "🗑️ *Erased* at the person's request: their details are gone; the lead is closed."
    if lead.stage == Stage.SQL:
        return f"📨 *SQL* handed to <@{lead.ae_id}>, waiting for them to accept or reject."
    if lead.stage == Stage.ACCEPTED:
        return f"🎉 *Accepted* by <@{outcome.get('by', lead.ae_id)}>: an opportunity was created."
    if lead.stage == Stage.DISQUALIFIED:
        return f"🚫 *Disqualified* by <@{outcome.get('by')}> ({escape(outcome.get('label', ''))}){notes}"
    if outcome.get("rejected"):
        return f"↩️ *Sent back* by <@{outcome.get('by')}> ({escape(outcome.get('label', ''))}){notes}"
    return None


def lead_controls(lead: Lead, block_id: str) -> ActionsBlock | None:
    """Only the actions that make sense from the lead's stage (none once it is handed off or closed)."""
    if not lead.is_open or not is_worked(lead.stage):
        return None
    value = LeadRef(lead_id=lead.id, stage=lead.stage).model_dump_json()
    elements: list = [_contacted_menu(lead)]
    if may(Move.ENGAGE, lead.stage):
        elements.append(button("Engaged", LeadAction.ENGAGED.value, value))
    if may(Move.QUALIFY, lead.stage):
        elements.append(button("Qualify as SQL", LeadAction.QUALIFY.value, value, "primary"))
    if may(Move.DISQUALIFY, lead.stage):
        elements.append(button("Disqualify", LeadAction.DISQUALIFY.value, value))
    return ActionsBlock(block_id=block_id, elements=elements)


def alert_for(lead: Lead, config: Config, version: str = "0") -> SlackMessage:
    """The owner's alert as the config says: the lead's SLA, the MQL threshold, the team's zone."""
    return lead_alert(
        lead,
        sla=config.sla.first_touch_for(lead.hot),
        mql_threshold=config.scoring.mql_threshold,
        tz=config.tz,
        version=version,
    )


def resubmission_notice(lead: Lead, source: str | None) -> SlackMessage:
    """Told in the alert's thread when the same person comes in again while the lead is open (or in a DM of its
    own when there is no alert to reply to: a lead imported without alerts), so it names the lead."""
    via = f" via {escape(source)}" if source else ""
    text = f"{escape(lead.display_name)} came in again{via}. Logged as a new touch on this lead (Lead #{lead.id})."
    return finish(text, [SectionBlock(text=mrkdwn(f"🔁 {text}"))])


def first_touch_reminder(lead: Lead, now: datetime) -> SlackMessage:
    left = format_duration(lead.first_touch_due_at - now) if lead.first_touch_due_at else "soon"
    return note(f"First touch on {escape(lead_title(lead))} is due in {left}.", "⏰")


def first_touch_breached(lead: Lead, sla: timedelta) -> SlackMessage:
    return note(
        f"First touch on {escape(lead_title(lead))} is overdue: the {format_config_duration(sla)} SLA has passed. "
        "Reach out now; managers hear about leads left untouched.",
        "⚠️",
    )
