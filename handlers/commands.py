"""Slash commands: /leadbot and /leadstats."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.reports.leadstats import UsageError, chart_png, help_text, parse_request, report_text
from bot.routing.availability import AvailabilityError, parse_availability, set_availability
from bot.runtime.leadbot import Leadbot
from bot.slack.commands import LEADBOT_HELP, availability_confirmation, unknown_option


def on_leadbot(ack: Ack, command: dict, leadbot: Leadbot) -> None:
    text = (command.get("text") or "").strip()
    words = text.split()
    if not words or words[0].lower() == "help":
        ack(text=LEADBOT_HELP, response_type="ephemeral")
        return
    if words[0].lower() not in ("away", "back"):
        ack(text=unknown_option(text), response_type="ephemeral")
        return
    try:
        change = parse_availability(
            [words[0].lower(), *words[1:]], command["user_id"], leadbot.config, leadbot.clock.now()
        )
    except AvailabilityError as exc:
        ack(text=str(exc), response_type="ephemeral")
        return
    set_availability(leadbot.engine, leadbot.clock, change, command["user_id"])
    ack(text=availability_confirmation(change, command["user_id"], leadbot.config.tz), response_type="ephemeral")


def on_leadstats(ack: Ack, command: dict, respond: Respond, leadbot: Leadbot, client: WebClient) -> None:
    ack()  # within Slack's 3 seconds; the numbers follow through response_url
    try:
        request = parse_request(command.get("text") or "", command["user_id"], leadbot.config, leadbot.clock.now())
    except UsageError as exc:
        respond(text=str(exc), response_type="ephemeral")
        return
    if request is None:
        respond(text=help_text(), response_type="ephemeral")
        return
    if request.chart:
        chart = chart_png(leadbot.engine, request)
        # Public charts go where the command was typed; otherwise to the asker's DM with Leadbot.
        if request.public:
            channel = command["channel_id"]
        else:
            channel = client.conversations_open(users=command["user_id"])["channel"]["id"]
        client.files_upload_v2(
            channel=channel,
            file=chart.png,
            filename="first-touch.png",
            title=chart.title,
            initial_comment=chart.title,
            alt_txt=chart.alt_text,
        )
        return
    respond(
        text=report_text(leadbot.engine, leadbot.config, request),
        response_type="in_channel" if request.public else "ephemeral",
    )


def register(app: App) -> None:
    app.command("/leadbot")(on_leadbot)
    app.command("/leadstats")(on_leadstats)
