"""The building blocks of the config file's schema: strict sections, durations, Slack ids, time zones."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

from bot.core.durations import parse_duration

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


SlackUserId = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]


SlackChannelId = Annotated[str, Field(pattern=r"^[CGD][A-Z0-9]{2,}$")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_timezone(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone name such as America/New_York") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(check_timezone)]


def clock_time(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and 0 <= value < 24 * 60:  # YAML 1.1 reads 09:00 as 540 (sexagesimal)
        return time(value // 60, value % 60)
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day such as 09:00") from None


ClockTime = Annotated[time, BeforeValidator(clock_time)]


class SizeRange(StrictModel):
    min: Annotated[int, Field(ge=0)] = 0
    max: Annotated[int, Field(ge=1)] | None = None
