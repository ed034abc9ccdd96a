"""Slack listeners only: each parses its payload once, calls a rule in `bot`, and answers Slack."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App

from handlers import actions, commands, errors, events, handoff

if TYPE_CHECKING:
    from bot.app import Leadbot


def register_listeners(app: App, leadbot: Leadbot) -> None:
    @app.middleware
    def _provide_leadbot(context, next):
        # Listeners find the running Leadbot in their context, so they stay plain module functions.
        context["leadbot"] = leadbot
        next()

    errors.register(app)
    handoff.register(app)  # before actions: its catch-all for unknown buttons must come last
    actions.register(app)
    commands.register(app)
    events.register(app)
