"""Whose clock an SLA runs on: the team's or the rep's business hours, or around the clock."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.core.business_hours import AlwaysOpen, BusinessCalendar
from bot.core.config import Config

WEEKDAY_NUMBERS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def calendar_for(config: Config, member_id: str | None) -> BusinessCalendar | AlwaysOpen:
    """Whose clock: the business hours in the rep's time zone, else the configured or team zone."""
    hours = config.sla.business_hours
    if hours is None:
        return AlwaysOpen(ZoneInfo(config.timezone))
    member = config.member(member_id) if member_id else None
    zone = hours.timezone or (member.timezone if member and member.timezone else None) or config.timezone
    countries = hours.countries(member)
    # The subdivision belongs to the team's one country; a rep on another calendar takes the whole country.
    subdivision = hours.holidays_subdivision if countries == (hours.holidays,) else None
    return _calendar(hours, zone, countries, subdivision)


_calendars: dict[tuple, BusinessCalendar] = {}


def _calendar(hours, zone: str, countries: tuple[str, ...], subdivision: str | None) -> BusinessCalendar:
    # Built once per (hours, zone, countries): the holiday table behind it is worth keeping.
    key = (tuple(hours.days), hours.open, hours.close, zone, countries, subdivision, tuple(hours.closures))
    if key not in _calendars:
        _calendars[key] = BusinessCalendar(
            tz=ZoneInfo(zone),
            open_at=hours.open,
            close_at=hours.close,
            days=frozenset(WEEKDAY_NUMBERS[d] for d in hours.days),
            holiday_country=countries or None,
            holiday_subdivision=subdivision,
            closures=frozenset(hours.closures),
        )
    return _calendars[key]
