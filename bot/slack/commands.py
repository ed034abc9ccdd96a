"""Answers to /leadbot."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.slack.blocks import (
    clip,
    escape,
    slack_date,
)

LEADBOT_HELP = (
    "*Leadbot* sends you a DM the moment a lead is yours. Pick *Contacted via…* on it when you reach out.\n"
    "• `/leadbot help`: this message\n"
    "• `/leadbot away [until]`: no new leads for you (until 2h, 3d or a date such as 2026-12-01)\n"
    "• `/leadbot back`: new leads again (managers: `/leadbot away @rep`, `/leadbot back @rep`)\n"
    "• `/leadstats`: speed-to-lead for the last 7 days"
)


def availability_confirmation(change, actor_id: str, tz: ZoneInfo) -> str:
    who = "You are" if change.target == actor_id else f"<@{change.target}> is"
    if not change.away:
        return f"{who} back: new leads are routed again."
    until = f" until {slack_date(change.until, tz)}" if change.until else " until `/leadbot back`"
    return f"{who} away{until}: no new leads are routed meanwhile."


def unknown_option(text: str) -> str:
    return f"Unknown option `{escape(clip(text, 40))}`.\n{LEADBOT_HELP}"
