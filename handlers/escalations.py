"""The escalation's buttons: Reassign now (managers) and Take it."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond

from bot.lifecycle.escalations import AlreadyHandled, ManagersOnly, NobodyElse, act_on_escalation
from bot.lifecycle.outcomes import NotAllowed
from bot.runtime.leadbot import Leadbot
from bot.slack import refusals
from bot.slack.ids import EscalationAction
from handlers.answers import ephemeral
from handlers.errors import answers_refusals
from handlers.payloads import BadPayload, EscalationClick


def _on_escalation(ack: Ack, body: dict, respond: Respond, leadbot: Leadbot, take: bool) -> None:
    ack()
    try:
        click = EscalationClick.parse(body)
    except BadPayload:
        ephemeral(respond, refusals.CONTROL_OUTDATED)
        return
    result = act_on_escalation(
        leadbot.engine,
        leadbot.config,
        leadbot.clock,
        lead_id=click.choice.lead_id,
        period=click.choice.period,
        actor_id=click.user_id,
        take=take,
    )
    if isinstance(result, AlreadyHandled):
        ephemeral(respond, refusals.already_handled(result.owner_id))
    elif isinstance(result, ManagersOnly):
        ephemeral(respond, refusals.MANAGERS_ONLY)
    elif isinstance(result, NotAllowed):
        ephemeral(respond, refusals.NOT_ON_THE_TEAM_TO_TAKE)
    elif isinstance(result, NobodyElse):
        ephemeral(respond, refusals.nobody_else(result.owner_id))


@answers_refusals
def on_reassign_now(ack: Ack, body: dict, respond: Respond, leadbot: Leadbot) -> None:
    _on_escalation(ack, body, respond, leadbot, take=False)


@answers_refusals
def on_take_it(ack: Ack, body: dict, respond: Respond, leadbot: Leadbot) -> None:
    _on_escalation(ack, body, respond, leadbot, take=True)


def register(app: App) -> None:
    app.action(EscalationAction.REASSIGN_NOW.value)(on_reassign_now)
    app.action(EscalationAction.TAKE_IT.value)(on_take_it)
