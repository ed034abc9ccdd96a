"""The Contacted menu on a lead's DM (and App Home): log a touch."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond

from bot.lifecycle.outcomes import NotAllowed
from bot.lifecycle.touches import AlreadyLogged, log_touch
from bot.runtime.leadbot import Leadbot
from bot.slack import refusals
from bot.slack.ids import LeadAction
from handlers.answers import ephemeral
from handlers.errors import answers_refusals
from handlers.payloads import BadPayload, ContactedClick


@answers_refusals
def on_contacted(ack: Ack, body: dict, respond: Respond, leadbot: Leadbot) -> None:
    ack()
    try:
        click = ContactedClick.parse(body)
    except BadPayload:
        ephemeral(respond, refusals.CONTROL_OUTDATED)
        return
    result = log_touch(
        leadbot.engine,
        leadbot.config,
        leadbot.clock,
        lead_id=click.choice.lead_id,
        actor_id=click.user_id,
        via=click.choice.via,
        number=click.choice.touch,
    )
    if isinstance(result, NotAllowed):
        ephemeral(respond, refusals.only_the_owner(result.owner_id, what="log a touch on this lead"))
    elif isinstance(result, AlreadyLogged):
        ephemeral(respond, refusals.already_logged(result.by, result.via, result.at, leadbot.config.tz))


def register(app: App) -> None:
    app.action(LeadAction.CONTACTED.value)(on_contacted)
