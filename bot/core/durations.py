"""Durations as admins write them in the config file: 90s, 15m, 2h, 1d."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{value!r} is not a duration: write a positive number and a unit, e.g. 90s, 15m, 2h, 1d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def format_duration(delta: timedelta) -> str:
    """Short human form for messages: '4m 12s', '2h 5m', '1d 3h'."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n][:2]
    return " ".join(shown) if shown else "0s"


def format_config_duration(delta: timedelta) -> str:
    """The single-unit form the config file uses (15m, 2h), for messages that quote the SLA."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


_BUSINESS_DAYS = re.compile(r"^\s*(\d+)\s*bd\s*$")


@dataclass(frozen=True)
class IdleLimit:
    """How long a lead may sit with no activity before a rung fires: a duration of (business) time, or a
    number of working days (a cadence's "2 business days"); `never` is None where the config allows it."""

    duration: timedelta | None = None
    business_days: int | None = None

    def __str__(self) -> str:
        return f"{self.business_days}bd" if self.business_days else format_config_duration(self.duration)


def parse_idle_limit(value: object) -> IdleLimit | None:
    """`2h`, `1d`, `2bd` (two working days, at the same time of day) or `never`."""
    if value is None or isinstance(value, IdleLimit):
        return value
    if isinstance(value, str) and value.strip().lower() == "never":
        return None
    match = _BUSINESS_DAYS.match(value) if isinstance(value, str) else None
    if match and int(match.group(1)) > 0:
        return IdleLimit(business_days=int(match.group(1)))
    try:
        return IdleLimit(duration=parse_duration(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an idle limit: write e.g. 2h, 1d, 2bd (working days) or never") from None
