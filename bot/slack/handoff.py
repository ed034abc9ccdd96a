"""The handoffs channel: the SQL for its AE, with Accept / Reject, and the replies in its thread."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    ContextBlock,
    HeaderBlock,
    PlainTextObject,
    SectionBlock,
)

from bot.core.config import Config
from bot.slack.alert import outcome_line
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
)
from bot.slack.ids import (
    HandoffAction,
    LeadRef,
)
from store.models import Lead, Stage


def decision_buttons(lead: Lead, block_id: str) -> ActionsBlock:
    """Accept / Reject for the AE, on the handoff message and on their App Home."""
    value = LeadRef(lead_id=lead.id, stage=lead.stage).model_dump_json()
    return ActionsBlock(
        block_id=block_id,
        elements=[
            button("Accept", HandoffAction.ACCEPT.value, value, "primary"),
            button("Reject", HandoffAction.REJECT.value, value, "danger"),
        ],
    )


def handoff(lead: Lead, config: Config, ae_reason: str | None = None) -> SlackMessage:
    """The SQL in the handoffs channel: summary, notes and fields, the AE mentioned, Accept / Reject."""
    title = lead_title(lead)
    blocks: list = [HeaderBlock(text=PlainTextObject(text=clip(f"🤝 SQL: {title}", 150)))]
    if lead.stage == Stage.SQL:
        ask = f"<@{lead.ae_id}>, please accept or reject this SQL from <@{lead.owner_id}>."
    else:
        ask = f"SQL from <@{lead.owner_id}> for <@{lead.ae_id}>."
    blocks.append(SectionBlock(text=mrkdwn(ask)))
    facts = [
        ("Company", lead.company),
        ("Title", lead.title),
        ("Company size", lead.company_size),
        ("Country", lead.country),
        ("Source", lead.lead_source),
        ("Score", lead.score),
    ]
    blocks.append(SectionBlock(fields=[field(label, value) for label, value in facts if value not in (None, "")]))
    qualification = lead.qualification or {}
    blocks.append(SectionBlock(text=mrkdwn(f"*Qualification notes*\n{escape(qualification.get('notes', ''))}")))
    labels = {f.id: f.label for f in config.qualification.fields + config.opportunity.required_fields}
    given = [(labels.get(key, key), value) for key, value in qualification.get("fields", {}).items() if value]
    if given:
        blocks.append(SectionBlock(fields=[field(label, value) for label, value in given[:10]]))
    if ae_reason:
        blocks.append(ContextBlock(elements=[mrkdwn(f"Routed to <@{lead.ae_id}>: {escape(ae_reason)}")]))
    status = outcome_line(lead) if lead.stage != Stage.SQL else None
    if lead.stage == Stage.SQL:
        blocks.append(decision_buttons(lead, f"handoff:{lead.id}"))
    elif status:
        blocks.append(SectionBlock(text=mrkdwn(status)))
    if link := open_in_crm(lead):
        blocks.append(ActionsBlock(block_id=f"handoff:{lead.id}:links", elements=[link]))
    blocks.append(ContextBlock(elements=[mrkdwn(f"Lead #{lead.id} · {escape(lead.email)}")]))
    text = f"SQL for <@{lead.ae_id}>: {escape(title)}" + (f". {status}" if status else ", waiting to be accepted.")
    return finish(text, blocks)


def handoff_accepted_reply(lead: Lead, actor_id: str, opportunity_id: int | None) -> SlackMessage:
    return note(
        f"<@{lead.owner_id}>: <@{actor_id}> accepted {escape(lead_title(lead))}. "
        f"Opportunity #{opportunity_id} was created.",
        "🎉",
    )


def handoff_rejected_reply(lead: Lead, actor_id: str) -> SlackMessage:
    outcome = lead.outcome or {}
    notes = f": {escape(outcome['notes'])}" if outcome.get("notes") else ""
    return note(
        f"<@{lead.owner_id}>: <@{actor_id}> sent {escape(lead_title(lead))} back "
        f"({escape(outcome.get('label', ''))}){notes}. It is yours again, as Engaged.",
        "↩️",
    )


def deal_in_crm_reply(lead: Lead, crm_label: str, url: str | None, opportunity_id: int) -> SlackMessage:
    """Told in the handoff's thread once the opportunity is in the CRM, with a link to it."""
    where = f"<{url}|Open it in {crm_label}>" if url else f"It is in {crm_label}"
    return note(
        f"<@{lead.ae_id}>: opportunity #{opportunity_id} for {escape(lead_title(lead))} is now a "
        f"{'deal' if crm_label == 'HubSpot' else 'opportunity'} in {crm_label}, owned by you. {where}.",
        "📇",
    )
