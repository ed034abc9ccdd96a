"""Any other button: one from an older version of Leadbot, or not Leadbot's at all."""

from __future__ import annotations

import re

from slack_bolt import Ack, App, Respond

from bot.slack import refusals
from handlers.answers import ephemeral
from handlers.errors import answers_refusals


@answers_refusals
def on_unknown_action(ack: Ack, respond: Respond) -> None:
    ack()
    ephemeral(respond, refusals.UNKNOWN_BUTTON)


def register(app: App) -> None:
    # Registered after every other action listener: Bolt runs the first one that matches.
    app.action(re.compile(".*"))(on_unknown_action)
