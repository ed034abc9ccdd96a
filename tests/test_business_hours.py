"""Business-hours clocks across nights, weekends, holidays and DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.core.business_hours import AlwaysOpen, BusinessCalendar
from bot.core.config import ConfigError, parse_config
from bot.sla.calendars import calendar_for
from tests.conftest import MINIMAL_CONFIG

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


# -- several calendars: per rep, per territory, the team's, and the company's own closures ------------------
def test_several_countries_close_on_each_ones_holidays():
    ascension, thanksgiving = date(2026, 5, 14), date(2026, 11, 26)  # a German and a US holiday, both Thursdays
    us_only = BusinessCalendar(tz=NY, open_at=time(9), close_at=time(18), days=frozenset(range(5)),
                               holiday_country="US")  # fmt: skip
    both = BusinessCalendar(tz=NY, open_at=time(9), close_at=time(18), days=frozenset(range(5)),
                            holiday_country=("US", "DE"), closures=frozenset({date(2026, 12, 28)}))  # fmt: skip
    assert us_only.is_working_day(ascension) and not us_only.is_working_day(thanksgiving)
    assert not both.is_working_day(ascension) and not both.is_working_day(thanksgiving)
    assert not both.is_working_day(date(2026, 12, 28)) and us_only.is_working_day(date(2026, 12, 28))


def test_each_rep_runs_on_their_own_their_territorys_or_the_teams_holidays():
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["team"][0]["territories"] = ["EMEA"]  # Sam: the territory's calendar (GB)
    data["team"][1]["holidays"] = "DE"  # Ana: her own
    data["sla"]["business_hours"] = {"holidays": "US", "territory_holidays": {"EMEA": "GB"},
                                     "closures": ["2026-12-31"]}  # fmt: skip
    config = parse_config(data, "test config")
    sam, ana, manager = (calendar_for(config, who) for who in ("U0SDR1", "U0SDR2", "U0MGR1"))
    early_may, ascension, thanksgiving = date(2026, 5, 4), date(2026, 5, 14), date(2026, 11, 26)

    assert [c.is_working_day(early_may) for c in (sam, ana, manager)] == [False, True, True]  # a UK bank holiday
    assert [c.is_working_day(ascension) for c in (sam, ana, manager)] == [True, False, True]
    assert [c.is_working_day(thanksgiving) for c in (sam, ana, manager)] == [True, True, False]
    assert not any(c.is_working_day(date(2026, 12, 31)) for c in (sam, ana, manager))  # the company is closed


@pytest.mark.parametrize(
    ("where", "value"),
    [("hours", ["US", "XX"]), ("territory", {"EMEA": "Narnia"}), ("member", "ZZ")],
)
def test_an_unknown_holiday_calendar_is_a_config_error(where, value):
    data = yaml.safe_load(MINIMAL_CONFIG)
    hours = data["sla"]["business_hours"] = {}
    if where == "hours":
        hours["holidays"] = value
    elif where == "territory":
        hours["territory_holidays"] = value
    else:
        data["team"][0]["holidays"] = value
    with pytest.raises(ConfigError, match="no holiday calendar for"):
        parse_config(data, "test config")
