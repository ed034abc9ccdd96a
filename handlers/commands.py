"""Slash commands: /leadbot and /leadstats."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext, Respond

from bot.messages import LEADBOT_HELP, unknown_option
from bot.reports import first_touch_summary_text


def on_leadbot(ack: Ack, command: dict) -> None:
    text = (command.get("text") or "").strip().lower()
    if text in ("", "help"):
        ack(text=LEADBOT_HELP, response_type="ephemeral")
    else:
        ack(text=unknown_option(text), response_type="ephemeral")


def on_leadstats(ack: Ack, respond: Respond, context: BoltContext) -> None:
    ack()  # within Slack's 3 seconds; the numbers follow through response_url
    leadbot = context["leadbot"]
    respond(text=first_touch_summary_text(leadbot.engine, leadbot.config, leadbot.clock), response_type="ephemeral")


def register(app: App) -> None:
    app.command("/leadbot")(on_leadbot)
    app.command("/leadstats")(on_leadstats)
