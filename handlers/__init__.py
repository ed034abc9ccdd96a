"""Slack listeners only: each parses its payload once, calls a rule in `bot`, and answers Slack."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from slack_bolt import App, BoltResponse

from bot.intake.accept import shape_problems
from handlers import (
    claims,
    commands,
    errors,
    escalations,
    events,
    handoff,
    links,
    payloads,
    qualification,
    touches,
    unknown,
)

if TYPE_CHECKING:
    from bot.runtime.leadbot import Leadbot


class DirectMessageRespond:
    """Stands in for Bolt's `respond` where Slack gave no response_url."""

    def __init__(self, client, user_id: str):
        self.client, self.user_id = client, user_id

    def __call__(self, text: str = "", **_ignored) -> None:
        self.client.chat_postMessage(channel=self.user_id, text=text)


def register_listeners(app: App, leadbot: Leadbot) -> None:
    @app.middleware
    def _refuse_malformed(body, next):
        # Before Bolt matches listeners, which index these fields unchecked.
        problem = payloads.envelope_problem(body) if isinstance(body, dict) else "the payload is not an object"
        if not problem and (hostile := shape_problems(body)):  # NUL characters, absurd nesting
            problem = "; ".join(f"{where}: {what}" for where, what in hostile.items())
        if problem:
            return BoltResponse(
                status=400,
                body=json.dumps({"error": "malformed_payload", "detail": problem}),
                headers={"Content-Type": "application/json"},
            )
        return next()

    @app.middleware
    def _provide_leadbot(context, body, next):
        # Bolt injects context keys by name: listeners take `leadbot` as an argument and stay plain functions.
        context["leadbot"] = leadbot
        no_response_url = getattr(context.get("respond"), "response_url", None) is None
        if no_response_url and body.get("type") == "block_actions" and context.get("user_id"):
            # Clicks on the App Home carry no response_url: private answers go to the user's DM instead.
            context["respond"] = DirectMessageRespond(leadbot.client, context["user_id"])
        next()

    errors.register(app)
    for feature in (touches, escalations, qualification, handoff, claims, links, commands, events):
        feature.register(app)
    unknown.register(app)  # last: its catch-all for unknown buttons must not shadow the others
