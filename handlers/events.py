"""Events API listeners. Deliveries can repeat (X-Slack-Retry-Num), so each one is idempotent."""

from __future__ import annotations

from slack_bolt import App

from bot.reports.home import publish_home
from bot.runtime.leadbot import Leadbot
from bot.slack.events import first_delivery


def on_app_home_opened(event: dict, body: dict, leadbot: Leadbot) -> None:
    if event.get("tab") != "home":
        return
    if not first_delivery(leadbot.engine, leadbot.clock, body.get("event_id")):
        return  # a retried delivery of an event already handled
    view = event.get("view")
    seen = view.get("hash") if isinstance(view, dict) and isinstance(view.get("hash"), str) else None
    publish_home(leadbot.engine, leadbot.config, leadbot.clock, leadbot.client, event["user"], seen_hash=seen)


def register(app: App) -> None:
    app.event("app_home_opened")(on_app_home_opened)
