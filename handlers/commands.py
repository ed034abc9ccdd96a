"""Slash commands: /leadbot and /leadstats."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext, Respond

from bot.reports import first_touch_summary_text

LEADBOT_HELP = (
    "*Leadbot* sends you a DM the moment a lead is yours. Pick *Contacted via…* on it when you reach out.\n"
    "• `/leadbot help`: this message\n"
    "• `/leadstats`: speed-to-lead for the last 7 days"
)


def on_leadbot(ack: Ack, command: dict) -> None:
    text = (command.get("text") or "").strip().lower()
    if text in ("", "help"):
        ack(text=LEADBOT_HELP, response_type="ephemeral")
    else:
        ack(text=f"Unknown option `{text[:40]}`.\n{LEADBOT_HELP}", response_type="ephemeral")


def on_leadstats(ack: Ack, respond: Respond, context: BoltContext) -> None:
    ack()  # within Slack's 3 seconds; the numbers follow through response_url
    leadbot = context["leadbot"]
    respond(text=first_touch_summary_text(leadbot.engine, leadbot.config, leadbot.clock), response_type="ephemeral")


def register(app: App) -> None:
    app.command("/leadbot")(on_leadbot)
    app.command("/leadstats")(on_leadstats)
