"""Link buttons ("Open in HubSpot"): Slack opens the URL itself and still tells the app, which only acks."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot.slack.ids import LeadAction


def on_open_in_crm(ack: Ack) -> None:
    ack()


def register(app: App) -> None:
    app.action(LeadAction.OPEN_IN_CRM.value)(on_open_in_crm)
