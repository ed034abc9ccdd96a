"""The escalations channel: leads nobody touched, reassignments, AEs who did not answer."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    ConfirmObject,
    ContextBlock,
    SectionBlock,
)

from bot.core.durations import format_config_duration
from bot.slack.blocks import (
    SlackMessage,
    button,
    escape,
    finish,
    lead_title,
    mrkdwn,
    note,
    open_in_crm,
)
from bot.slack.ids import (
    EscalationAction,
    EscalationChoice,
)
from store.models import Lead, Stage


def escalation(
    lead: Lead,
    idle: str | None = None,
    *,
    owner: str | None = None,
    resolved: str | None = None,
    stays_with_fallback: bool = False,
) -> SlackMessage:
    """Posted in the escalations channel; managers reassign the lead or take it from here."""
    quiet = f"No activity for {idle}" if idle else "No activity"
    text = f"{quiet} on {escape(lead_title(lead))}, owned by <@{owner or lead.owner_id}>."
    if stays_with_fallback:
        text += " It is with the fallback owner and will not be moved again by itself: take it or reassign it."
    blocks: list = [
        SectionBlock(text=mrkdwn(f"🚨 *Escalation:* {text}")),
        ContextBlock(
            elements=[
                mrkdwn(f"Lead #{lead.id} · score {lead.score} · {escape(lead.lead_source)} · {Stage(lead.stage).label}")
            ]
        ),
    ]
    if resolved:
        blocks.append(SectionBlock(text=mrkdwn(f"✅ {resolved}")))
    else:
        value = EscalationChoice(lead_id=lead.id, period=lead.idle_period).model_dump_json()
        blocks.append(
            ActionsBlock(
                block_id=f"escalation:{lead.id}",
                elements=[
                    button(
                        "Reassign now",
                        EscalationAction.REASSIGN_NOW.value,
                        value,
                        "danger",
                        # It acts at once and tells three people: one more click to be sure.
                        ConfirmObject(
                            title="Reassign this lead?",
                            text=f"It goes to the next available SDR now, and <@{owner or lead.owner_id}> is told.",
                            confirm="Reassign",
                            deny="Cancel",
                            style="danger",
                        ),
                    ),
                    button("Take it", EscalationAction.TAKE_IT.value, value, "primary"),
                    *filter(None, [open_in_crm(lead)]),
                ],
            )
        )
    return finish(f"Escalation: {text}", blocks)


def reassigned_away(lead: Lead, old_owner: str, new_owner: str, why: str) -> SlackMessage:
    return note(f"{escape(lead_title(lead))} was reassigned from you to <@{new_owner}> ({escape(why)}).", "🔁")


def owner_left_the_team(lead: Lead, crm_label: str, crm_owner: str | None) -> SlackMessage:
    who = f"owner {crm_owner}" if crm_owner else "no owner"
    return note(
        f"Lead #{lead.id} {escape(lead_title(lead))} was given to {escape(who)} in {crm_label}, who is not on "
        "Leadbot's team: its reminders and escalations are stopped.",
        "🔁",
    )


def reassignment_notice(lead: Lead, old_owner: str | None, new_owner: str, why: str) -> SlackMessage:
    before = f"<@{old_owner}>" if old_owner else "nobody"
    return note(
        f"Lead #{lead.id} {escape(lead_title(lead))} reassigned from {before} to <@{new_owner}> ({escape(why)}).", "🔁"
    )


def ae_reminder(lead: Lead) -> SlackMessage:
    return note(f"The SQL {escape(lead_title(lead))} is waiting for you to accept or reject it.", "⏰")


def ae_escalation(lead: Lead, sla: timedelta) -> SlackMessage:
    return note(
        f"<@{lead.ae_id}> has not accepted or rejected the SQL {escape(lead_title(lead))} within "
        f"{format_config_duration(sla)} (lead #{lead.id}).",
        "🚨",
    )
