"""Clocks that count only open time: working days, opening hours, a time zone, public holidays.

Windows are built from local wall-clock times through zoneinfo and measured in real (UTC) time, so a
day when the clocks change is as long as it really is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

MAX_DAYS_AHEAD = 800  # a calendar with no open day at all must not loop forever


@dataclass(frozen=True)
class BusinessCalendar:
    tz: ZoneInfo
    open_at: time
    close_at: time
    days: frozenset[int]  # 0 = Monday
    holiday_country: str | tuple[str, ...] | None = None  # one country, or several whose holidays all close
    holiday_subdivision: str | None = None  # with one country: its state or region (CA for California)
    closures: frozenset[date] = frozenset()  # the company's own closed days

    @cached_property
    def _holidays(self):
        countries = (self.holiday_country,) if isinstance(self.holiday_country, str) else self.holiday_country or ()
        subdivision = self.holiday_subdivision if len(countries) == 1 else None
        calendars = [holidays.country_holidays(country, subdiv=subdivision) for country in countries]
        return sum(calendars[1:], calendars[0]) if calendars else {}

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self._holidays and day not in self.closures

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The open interval of one local day in UTC, or None when closed.

        In UTC because Python subtracts two datetimes of the same zone by wall clock, which is an hour
        off on the days the clocks change.
        """
        if not self.is_working_day(day):
            return None
        opens = datetime.combine(day, self.open_at, self.tz).astimezone(UTC)
        return opens, datetime.combine(day, self.close_at, self.tz).astimezone(UTC)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of open time after `start` (a night arrival counts from the next opening)."""
        remaining, given_tz = duration, start.tzinfo
        start = start.astimezone(UTC)
        day = start.astimezone(self.tz).date()
        for _ in range(MAX_DAYS_AHEAD):
            window = self.window(day)
            if window:
                opens, closes = window
                begin = max(start, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(given_tz)
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("the business calendar has no open time in the next two years")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same time of day `days` working days later, counted from the next open moment (a touch made at
        night counts from the next morning), so a cadence's "2 business days" never ends at night."""
        begin = self.add(start, timedelta(0)).astimezone(self.tz)
        day = begin.date()
        for _ in range(days):
            day += timedelta(days=1)
            while not self.is_working_day(day):
                day += timedelta(days=1)
        return datetime.combine(day, begin.timetz().replace(tzinfo=None), self.tz).astimezone(start.tzinfo)

    def is_open(self, moment: datetime) -> bool:
        window = self.window(moment.astimezone(self.tz).date())
        return window is not None and window[0] <= moment.astimezone(UTC) < window[1]

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Open time between two moments (for reporting time to first touch in business time)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return timedelta(0)
        total, day = timedelta(0), start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            window = self.window(day)
            if window:
                begin, finish = max(start, window[0]), min(end, window[1])
                if begin < finish:
                    total += finish - begin
            day += timedelta(days=1)
        return total


@dataclass(frozen=True)
class AlwaysOpen:
    """No business hours configured: clocks run 24/7; working days are Monday to Friday in the team's zone."""

    tz: ZoneInfo = ZoneInfo("UTC")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return start + duration

    def add_working_days(self, start: datetime, days: int) -> datetime:
        local = start.astimezone(self.tz)
        day = local.date()
        while day.weekday() >= 5:  # a weekend start counts from Monday, at the same time of day
            day += timedelta(days=1)
        for _ in range(days):
            day += timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
        return datetime.combine(day, local.time(), self.tz).astimezone(start.tzinfo)

    def is_open(self, moment: datetime) -> bool:
        return True

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, timedelta(0))
