"""Events API listeners. Deliveries can repeat (X-Slack-Retry-Num), so each one is idempotent."""

from __future__ import annotations

from slack_bolt import App, BoltContext

from bot.home import publish_home


def on_app_home_opened(event: dict, context: BoltContext) -> None:
    if event.get("tab") != "home":
        return
    leadbot = context["leadbot"]
    publish_home(leadbot.engine, leadbot.config, leadbot.clock, leadbot.client, event["user"])


def register(app: App) -> None:
    app.event("app_home_opened")(on_app_home_opened)
