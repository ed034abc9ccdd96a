"""`/leadbot away [until]` and `/leadbot back`: reps set their own availability; managers anyone's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.durations import parse_duration
from bot.core.team import UnknownMember, find_member, names_a_member
from store import routing as rotation_store
from store.db import write_session


@dataclass(frozen=True)
class AvailabilityChange:
    target: str
    away: bool
    until: datetime | None


class AvailabilityError(ValueError):
    """Something to tell the person who typed the command."""


def parse_availability(words: list[str], actor_id: str, config: Config, now: datetime) -> AvailabilityChange:
    """`away [@rep] [until]` or `back [@rep]`, where until is 2h, 3d or a date such as 2026-12-01."""
    verb, rest = words[0], words[1:]
    target = actor_id
    if rest and names_a_member(rest[0]):
        try:
            target, rest = find_member(config, rest[0]).slack_id, rest[1:]
        except UnknownMember as exc:
            raise AvailabilityError(str(exc)) from None
    if config.member(target) is None:
        raise AvailabilityError(f"<@{target}> is not on the Leadbot team.")
    if target != actor_id and not config.is_manager(actor_id):
        raise AvailabilityError("Only a manager can set someone else's availability.")
    if verb == "back":
        if rest:
            raise AvailabilityError("Usage: `/leadbot back [@rep]`")
        return AvailabilityChange(target, away=False, until=None)
    if len(rest) > 1:
        raise AvailabilityError("Usage: `/leadbot away [@rep] [until]`, until as 2h, 3d or 2026-12-01")
    return AvailabilityChange(target, away=True, until=_until(rest[0], config, now) if rest else None)


# Away for longer than this is not an absence but leaving the team: set `active: false` in the config.
LONGEST_AWAY = timedelta(days=366)


def _until(word: str, config: Config, now: datetime) -> datetime:
    try:
        day = date.fromisoformat(word)
    except ValueError:
        try:
            away_for = parse_duration(word)
        except (ValueError, OverflowError):
            raise AvailabilityError(f"`{word[:20]}` is not a time: write 2h, 3d or a date such as 2026-12-01") from None
        back = now + away_for if away_for <= LONGEST_AWAY else None
    else:
        back = datetime.combine(day, time(0), config.tz)  # back at the start of that day, in the team's zone
        if back <= now:
            raise AvailabilityError(f"{word} is already past.")
    if back is None or back - now > LONGEST_AWAY:
        raise AvailabilityError(f"`{word[:20]}` is more than a year away: away for at most a year at a time.")
    return back


def set_availability(engine: Engine, clock: Clock, change: AvailabilityChange, actor_id: str) -> None:
    with write_session(engine) as session:
        rotation_store.set_away(
            session, change.target, away=change.away, until=change.until, now=clock.now(), by=actor_id
        )
