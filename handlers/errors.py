"""Errors in listeners: domain errors answered where they happen, anything else by one global handler.

A listener must not raise after `ack()`: Bolt's thread runner then forgets the ack and holds Slack's
request for its full 3-second timeout, and the person sees two messages. So a domain error (a lead that
no longer exists, a closed lead) is answered by the listener's own decorator, privately, and the
listener returns. Only real failures reach `on_error`.
"""

from __future__ import annotations

import functools
import logging

from slack_bolt import App

from bot.lifecycle.outcomes import LeadbotError
from bot.slack.modals import notice_modal

log = logging.getLogger(__name__)
SORRY = "Sorry, Leadbot hit an error on its side and nothing was changed. Please try again in a minute."


def answers_refusals(listener):
    """For clicks (acked first): a LeadbotError becomes an ephemeral message to the person who clicked, and so
    does any other failure (logged), since raising after the ack would hold Slack's request for 3 seconds."""

    @functools.wraps(listener)  # Bolt injects arguments by the wrapped function's parameter names
    def answered(**kwargs):
        try:
            return listener(**kwargs)
        except LeadbotError as error:
            message = error.user_message
        except Exception:
            log.exception("click listener %s failed after its ack", listener.__name__)
            message = SORRY
        try:
            kwargs["respond"](text=message, response_type="ephemeral", replace_original=False)
        except Exception:  # Slack unreachable: the person sees nothing, and the request is not held
            log.exception("could not answer a click privately")

    return answered


def answers_modal_refusals(listener):
    """For modal submissions (acked with the outcome): a LeadbotError replaces the modal with what happened."""

    @functools.wraps(listener)
    def answered(**kwargs):
        try:
            return listener(**kwargs)
        except LeadbotError as error:
            kwargs["ack"](response_action="update", view=notice_modal(error.user_message))

    return answered


def on_error(error: Exception, body: dict, respond, logger: logging.Logger) -> None:
    if isinstance(error, LeadbotError):  # a listener without its decorator: still polite, if slower
        message = error.user_message
    else:
        logger.exception("listener failed", exc_info=error)
        message = SORRY
    if respond is not None and (body.get("response_url") or body.get("response_urls")):
        respond(text=message, response_type="ephemeral", replace_original=False)


def register(app: App) -> None:
    app.error(on_error)
