"""Slack, played locally: the Web API stand-in and requests signed as Slack signs them.

`leadbot demo` and the tests share these, so there is one fake Slack in the project.
"""

from bot.devtools.standin.web_api import BOT_USER_ID, TEAM_ID, FakeSlack

__all__ = ["BOT_USER_ID", "TEAM_ID", "FakeSlack"]
