"""What someone is told, privately, when their click or form changes nothing, and why."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.lifecycle.codes import ContactMethod
from bot.slack.blocks import slack_date

CONTROL_OUTDATED = "That control is out of date or unreadable, so nothing was changed. Use the latest lead message."
FORM_OUTDATED = "This form is out of date or unreadable, so nothing was changed. Close it and use the latest message."
UNKNOWN_BUTTON = "Leadbot doesn't know that button (it may be from an older version), so nothing was changed."
MANAGERS_ONLY = "Only a manager can reassign a lead from here. You can *Take it* yourself."
NOT_ON_THE_TEAM_TO_TAKE = "Only managers and SDRs on the Leadbot team can take a lead."


def only_the_owner(owner_id: str, *, what: str = "do this") -> str:
    return f"Only <@{owner_id}> (the lead's owner) or a manager can {what}."


def only_the_ae(ae_id: str) -> str:
    return f"Only <@{ae_id}> (the assigned AE) or a manager can accept or reject this SQL."


def moved_on(detail: str) -> str:
    """The lead is no longer where the message showed it: `detail` says where it is now."""
    return f"Nothing was changed: {detail}."


def already_logged(by: str, via: str, at: datetime, tz: ZoneInfo) -> str:
    when = slack_date(at, tz, "{time}")
    return (
        f"Already logged: <@{by}> logged a touch via {ContactMethod(via).label} at {when}, "
        "after the message you clicked. Nothing was changed."
    )


def already_handled(owner_id: str) -> str:
    return f"Already handled: the lead is now with <@{owner_id}>, so nothing was changed."


def nobody_else(owner_id: str) -> str:
    return f"No other SDR is available right now, so the lead stays with <@{owner_id}>."


def already_claimed(owner_id: str) -> str:
    return f"Already claimed: <@{owner_id}> was first. Nothing was changed."


def cannot_claim(why: str) -> str:
    return f"You can't claim this lead: {why}."
