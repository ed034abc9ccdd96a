"""The unclaimed channel: a lead offered to the first eligible rep, and the note to its holder."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    ContextBlock,
    SectionBlock,
)

from bot.slack.blocks import (
    SlackMessage,
    button,
    escape,
    finish,
    lead_title,
    mrkdwn,
    note,
)
from bot.slack.ids import (
    LeadAction,
    LeadRef,
)
from store.models import Lead


def claim_offer(lead: Lead, claimed_by: str | None = None) -> SlackMessage:
    """In the unclaimed channel: a lead nobody could take; the first eligible rep to click Claim gets it."""
    facts = " · ".join(escape(v) for v in (lead.title, lead.company_size, lead.country, lead.lead_source) if v)
    blocks: list = [
        SectionBlock(text=mrkdwn(f"🙋 *Unclaimed lead:* {escape(lead_title(lead))} · score {lead.score}\n{facts}")),
        ContextBlock(elements=[mrkdwn(f"Lead #{lead.id} · held by <@{lead.owner_id}> until claimed")]),
    ]
    if claimed_by:
        blocks[1] = SectionBlock(text=mrkdwn(f"✅ Claimed by <@{claimed_by}>"))
    else:
        value = LeadRef(lead_id=lead.id, stage=lead.stage).model_dump_json()
        blocks.append(
            ActionsBlock(
                block_id=f"claim:{lead.id}",
                elements=[button("Claim", LeadAction.CLAIM.value, value, "primary")],
            )
        )
    state = f"claimed by <@{claimed_by}>" if claimed_by else "first to claim gets it"
    return finish(f"Unclaimed lead: {escape(lead_title(lead))} ({state})", blocks)


def claimed_away(lead: Lead, claimer: str) -> SlackMessage:
    return note(f"<@{claimer}> claimed {escape(lead_title(lead))} from the unclaimed channel; it is theirs now.", "🙋")
