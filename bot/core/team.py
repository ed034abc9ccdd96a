"""Finding a team member from what a person typed in a slash command."""

from __future__ import annotations

import re

from bot.core.config import Config, TeamMemberConfig

# With `should_escape: true` Slack sends a picked mention as <@U123|name>; older clients send <@U123>.
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


class UnknownMember(ValueError):
    """The text names nobody on the team, or more than one person; the message says which."""


def names_a_member(word: str) -> bool:
    """A mention or an @name: what /leadstats and /leadbot read as a person rather than an option."""
    return word.startswith("<@") or (word.startswith("@") and len(word) > 1)


def _plain(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def find_member(config: Config, word: str) -> TeamMemberConfig:
    """The member a mention (<@U123|ana.silva>) or a typed name (@ana.silva, @Ana, @anasilva) stands for."""
    if mention := _MENTION.match(word):
        member = config.member(mention.group(1))
        if member is None:
            raise UnknownMember(f"<@{mention.group(1)}> is not on the Leadbot team.")
        return member
    typed = _plain(word.removeprefix("@"))
    if not typed:
        raise UnknownMember(f"`{word[:40]}` is not a name on the Leadbot team.")
    full = [m for m in config.team if _plain(m.name) == typed]
    first = [m for m in config.team if _plain(m.name.split()[0]) == typed]
    matches = full or first
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UnknownMember(f"Nobody on the Leadbot team is called `{word[:40]}`.")
    names = ", ".join(m.name for m in matches)
    raise UnknownMember(f"`{word[:40]}` could be {names}: mention the one you mean.")


def person_named(config: Config, by: str, *, by_name: bool = False) -> str | None:
    """The team member's Slack id for a Slack id, an email or a CRM owner id, or with `by_name` their full name
    as a CRM export writes it ("Jamie Rivera"); None for someone else (or a name two members share)."""
    wanted = by.strip().lower()
    for member in config.team:
        if wanted in (member.slack_id.lower(), (member.email or "").lower(), (member.crm_owner_id or "").lower()):
            return member.slack_id
    named = [m.slack_id for m in config.team if by_name and _plain(m.name) == _plain(by)]
    return named[0] if len(named) == 1 else None
