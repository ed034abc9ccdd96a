"""Business-hours clocks across nights, weekends, holidays and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.business_hours import AlwaysOpen, BusinessCalendar

NY = ZoneInfo("America/New_York")
NINE_TO_SIX = BusinessCalendar(
    tz=NY, open_at=time(9), close_at=time(18), days=frozenset(range(5)), holiday_country="US"
)


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (ny(2026, 11, 20, 17, 55), timedelta(minutes=15), ny(2026, 11, 23, 9, 10)),  # Friday 17:55 → Monday
        (ny(2026, 11, 23, 10, 0), timedelta(minutes=15), ny(2026, 11, 23, 10, 15)),  # open: plain addition
        (ny(2026, 11, 23, 22, 30), timedelta(minutes=15), ny(2026, 11, 24, 9, 15)),  # night → next opening
        (ny(2026, 11, 21, 11, 0), timedelta(hours=2), ny(2026, 11, 23, 11, 0)),  # Saturday → Monday
        (ny(2026, 11, 25, 17, 0), timedelta(hours=2), ny(2026, 11, 27, 10, 0)),  # Thanksgiving is skipped
        (ny(2026, 11, 23, 9, 0), timedelta(hours=24), ny(2026, 11, 25, 15, 0)),  # 24h of open time = 2⅔ days
        (ny(2026, 3, 6, 17, 0), timedelta(hours=2), ny(2026, 3, 9, 10, 0)),  # over the spring-forward weekend
        (ny(2026, 10, 30, 17, 30), timedelta(hours=1), ny(2026, 11, 2, 9, 30)),  # over the fall-back weekend
    ],
    ids=["friday-evening", "open", "night", "weekend", "thanksgiving", "multi-day", "dst-spring", "dst-fall"],
)
def test_business_time_counts_only_open_time(start, duration, due):
    assert NINE_TO_SIX.add(start, duration) == due


def test_an_hour_of_open_time_on_a_dst_day_is_a_real_hour():
    # Sunday 8 March 2026 is when New York springs forward; a calendar open on Sundays 00:00-06:00.
    sundays = BusinessCalendar(tz=NY, open_at=time(0), close_at=time(6), days=frozenset({6}))
    start = ny(2026, 3, 8, 1, 30)
    due = sundays.add(start, timedelta(hours=1))
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=1)
    assert due.astimezone(NY).hour == 3  # 01:30 EST + 1 real hour = 03:30 EDT


def test_elapsed_business_time_skips_the_weekend():
    assert NINE_TO_SIX.elapsed(ny(2026, 11, 20, 17, 0), ny(2026, 11, 23, 9, 30)) == timedelta(hours=1, minutes=30)


def test_without_business_hours_clocks_run_all_the_time():
    start = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    assert AlwaysOpen().add(start, timedelta(minutes=15)) == start + timedelta(minutes=15)
