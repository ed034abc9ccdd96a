"""One error handler: domain errors become a polite message to the person who clicked."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.lead_actions import LeadbotError

log = logging.getLogger(__name__)


def on_error(error: Exception, body: dict, respond, logger: logging.Logger) -> None:
    if isinstance(error, LeadbotError):
        message = error.user_message
    else:
        logger.exception("listener failed", exc_info=error)
        message = "Sorry, Leadbot hit an error on its side and nothing was changed. Please try again in a minute."
    if respond is not None and (body.get("response_url") or body.get("response_urls")):
        respond(text=message, response_type="ephemeral", replace_original=False)


def register(app: App) -> None:
    app.error(on_error)
