"""The unclaimed channel's Claim button."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond

from bot.routing.claims import AlreadyClaimed, CannotClaim, claim_lead
from bot.runtime.leadbot import Leadbot
from bot.slack import refusals
from bot.slack.ids import LeadAction
from handlers.answers import ephemeral, lead_click
from handlers.errors import answers_refusals


@answers_refusals
def on_claim(ack: Ack, body: dict, respond: Respond, leadbot: Leadbot) -> None:
    ack()
    click = lead_click(body, respond)
    if click is None:
        return
    result = claim_lead(
        leadbot.engine, leadbot.config, leadbot.clock, lead_id=click.ref.lead_id, actor_id=click.user_id
    )
    if isinstance(result, AlreadyClaimed):
        ephemeral(respond, refusals.already_claimed(result.owner_id))
    elif isinstance(result, CannotClaim):
        ephemeral(respond, refusals.cannot_claim(result.why))


def register(app: App) -> None:
    app.action(LeadAction.CLAIM.value)(on_claim)
