"""Button and menu clicks on lead messages."""

from __future__ import annotations

import re

from slack_bolt import Ack, App, BoltContext, Respond

from bot.actions import ContactMethod, LeadAction
from bot.lead_actions import AlreadyLogged, NotAllowed, TouchLogged, log_first_touch
from bot.messages import slack_date
from handlers.payloads import BadPayload, ContactedClick

OUTDATED = "That control is out of date or unreadable, so nothing was changed. Use the latest lead message."


def ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def on_contacted(ack: Ack, body: dict, respond: Respond, context: BoltContext) -> None:
    ack()
    try:
        click = ContactedClick.parse(body)
    except BadPayload:
        ephemeral(respond, OUTDATED)
        return
    leadbot = context["leadbot"]
    result = log_first_touch(
        leadbot.engine,
        leadbot.config,
        leadbot.clock,
        lead_id=click.choice.lead_id,
        actor_id=click.user_id,
        via=click.choice.via,
    )
    if isinstance(result, TouchLogged):
        leadbot.relay.kick()
    elif isinstance(result, NotAllowed):
        ephemeral(respond, f"Only <@{result.owner_id}> (the lead's owner) or a manager can log a touch on this lead.")
    elif isinstance(result, AlreadyLogged):
        when = slack_date(result.at, leadbot.config.tz, "{time}")
        ephemeral(
            respond,
            f"Already logged: <@{result.by}> contacted this lead via "
            f"{ContactMethod(result.via).label} at {when}. Nothing was changed.",
        )


def on_unknown_action(ack: Ack, respond: Respond) -> None:
    ack()
    ephemeral(respond, "Leadbot doesn't know that button (it may be from an older version), so nothing was changed.")


def register(app: App) -> None:
    app.action(LeadAction.CONTACTED.value)(on_contacted)
    # Registered last: Bolt runs the first listener that matches.
    app.action(re.compile(".*"))(on_unknown_action)
