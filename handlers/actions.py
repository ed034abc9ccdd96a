"""Button and menu clicks on lead messages."""

from __future__ import annotations

import re

from slack_bolt import Ack, App, BoltContext, Respond

from bot.lifecycle.touches import (
    AlreadyHandled,
    AlreadyLogged,
    ManagersOnly,
    NobodyElse,
    NotAllowed,
    act_on_escalation,
    log_touch,
)
from bot.slack.blocks import slack_date
from bot.slack.ids import ContactMethod, EscalationAction, LeadAction
from handlers.errors import answers_refusals
from handlers.payloads import BadPayload, ContactedClick, EscalationClick

OUTDATED = "That control is out of date or unreadable, so nothing was changed. Use the latest lead message."


def ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


@answers_refusals
def on_contacted(ack: Ack, body: dict, respond: Respond, context: BoltContext) -> None:
    ack()
    try:
        click = ContactedClick.parse(body)
    except BadPayload:
        ephemeral(respond, OUTDATED)
        return
    leadbot = context["leadbot"]
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
        ephemeral(respond, f"Only <@{result.owner_id}> (the lead's owner) or a manager can log a touch on this lead.")
    elif isinstance(result, AlreadyLogged):
        when = slack_date(result.at, leadbot.config.tz, "{time}")
        ephemeral(
            respond,
            f"Already logged: <@{result.by}> logged a touch via {ContactMethod(result.via).label} at {when}, "
            "after the message you clicked. Nothing was changed.",
        )


def _on_escalation(ack: Ack, body: dict, respond: Respond, context: BoltContext, take: bool) -> None:
    ack()
    try:
        click = EscalationClick.parse(body)
    except BadPayload:
        ephemeral(respond, OUTDATED)
        return
    leadbot = context["leadbot"]
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
        ephemeral(respond, f"Already handled: the lead is now with <@{result.owner_id}>, so nothing was changed.")
    elif isinstance(result, ManagersOnly):
        ephemeral(respond, "Only a manager can reassign a lead from here. You can *Take it* yourself.")
    elif isinstance(result, NotAllowed):
        ephemeral(respond, "Only managers and SDRs on the Leadbot team can take a lead.")
    elif isinstance(result, NobodyElse):
        ephemeral(respond, f"No other SDR is available right now, so the lead stays with <@{result.owner_id}>.")


@answers_refusals
def on_reassign_now(ack: Ack, body: dict, respond: Respond, context: BoltContext) -> None:
    _on_escalation(ack, body, respond, context, take=False)


@answers_refusals
def on_take_it(ack: Ack, body: dict, respond: Respond, context: BoltContext) -> None:
    _on_escalation(ack, body, respond, context, take=True)


@answers_refusals
def on_unknown_action(ack: Ack, respond: Respond) -> None:
    ack()
    ephemeral(respond, "Leadbot doesn't know that button (it may be from an older version), so nothing was changed.")


def register(app: App) -> None:
    app.action(LeadAction.CONTACTED.value)(on_contacted)
    app.action(EscalationAction.REASSIGN_NOW.value)(on_reassign_now)
    app.action(EscalationAction.TAKE_IT.value)(on_take_it)
    # Registered last: Bolt runs the first listener that matches.
    app.action(re.compile(".*"))(on_unknown_action)
