"""`/leadstats [period] [scope] [public]`: speed-to-lead and conversion numbers for a period.

Periods: today, 7d (default), 30d, 90d, this-month, last-month, or YYYY-MM-DD..YYYY-MM-DD (both days
included, in the team's time zone). Scopes: team (default), @rep, source:NAME. Each number comes from
the activity log by SQL aggregation (store/stats.py) and is compared with the period of the same
length just before (▲/▼).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.engine import Engine

from bot.config import Config
from bot.durations import format_duration
from bot.messages import escape
from bot.sources import UNKNOWN
from store import stats
from store.db import read_session

USAGE = (
    "Usage: `/leadstats [today|7d|30d|90d|this-month|last-month|YYYY-MM-DD..YYYY-MM-DD] "
    "[team|@rep|source:NAME] [public] [chart]`"
)
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


class UsageError(ValueError):
    """A one-line answer for whoever typed the command."""


@dataclass(frozen=True)
class StatsRequest:
    start: datetime
    end: datetime
    label: str
    scope: stats.Scope
    scope_label: str
    public: bool = False
    show_reps: bool = False  # the per-rep table: managers, team scope
    chart: bool = False  # a PNG of the time-to-first-touch distribution instead of the text


def _day_start(day: date, config: Config) -> datetime:
    return datetime.combine(day, time(0), config.tz)


def parse_request(text: str, actor_id: str, config: Config, now: datetime) -> StatsRequest | None:
    """None for `help`; raises UsageError with the usage for anything it does not understand."""
    words = text.split()
    if words and words[0].lower() == "help":
        return None
    today = now.astimezone(config.tz).date()
    start, end, label = now - timedelta(days=7), now, "the last 7 days"
    scope, scope_label, public, chart = stats.Scope(), "the team", False, False
    for word in words:
        lowered = word.lower()
        if lowered in ("today", "7d", "30d", "90d"):
            if lowered == "today":
                start, end, label = _day_start(today, config), now, "today"
            else:
                days = int(lowered[:-1])
                start, end, label = now - timedelta(days=days), now, f"the last {days} days"
        elif lowered == "this-month":
            start, end, label = _day_start(today.replace(day=1), config), now, "this month"
        elif lowered == "last-month":
            first = today.replace(day=1)
            previous = (first - timedelta(days=1)).replace(day=1)
            start, end, label = _day_start(previous, config), _day_start(first, config), previous.strftime("%B %Y")
        elif match := _RANGE.match(word):
            try:
                first_day, last_day = date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))
            except ValueError:
                raise UsageError(f"`{escape(word)}` is not a date range. {USAGE}") from None
            if last_day < first_day:
                raise UsageError(f"`{escape(word)}` ends before it starts. {USAGE}")
            start, end = _day_start(first_day, config), _day_start(last_day + timedelta(days=1), config)
            label = f"{first_day.isoformat()} to {last_day.isoformat()}"
        elif lowered == "team":
            scope, scope_label = stats.Scope(), "the team"
        elif match := _MENTION.match(word):
            member = config.member(match.group(1))
            if member is None:
                raise UsageError(f"<@{match.group(1)}> is not on the Leadbot team. {USAGE}")
            scope, scope_label = stats.Scope(owner_id=member.slack_id), member.name
        elif lowered.startswith("source:") and len(word) > len("source:"):
            name = word.split(":", 1)[1]
            scope, scope_label = stats.Scope(source=name), f"source {name}"
        elif lowered == "public":
            public = True
        elif lowered == "chart":
            chart = True
        else:
            raise UsageError(f"`{escape(word[:40])}` is not something /leadstats knows. {USAGE}")
    show_reps = config.is_manager(actor_id) and scope == stats.Scope()
    request = StatsRequest(start, end, label, scope, scope_label, public, show_reps, chart)
    _check_permission(request, actor_id, config)
    return request


def _check_permission(request: StatsRequest, actor_id: str, config: Config) -> None:
    """Managers see the team and any rep and may post publicly; a rep sees their own numbers and the team's."""
    if config.is_manager(actor_id):
        return
    if request.public:
        raise UsageError("Only a manager can post /leadstats publicly; leave out `public` to see it yourself.")
    owner = request.scope.owner_id
    if owner and owner != actor_id:
        raise UsageError("You can see your own numbers and the team's; a rep's own numbers are for them and managers.")


def help_text() -> str:
    return (
        f"{USAGE}\n• period: today, 7d (default), 30d, 90d, this-month, last-month, or a date range\n"
        "• scope: team (default), @rep, or source:NAME\n"
        "• public: post it in the channel (managers)\n• chart: a picture of how long first touches took\n"
        "Numbers compare with the period just before (▲/▼)."
    )


def _ratio(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def report_text(engine: Engine, config: Config, request: StatsRequest, now: datetime | None = None) -> str:
    """The report as Slack mrkdwn; every number is computed in SQL for the period and the one before."""
    length = request.end - request.start
    with read_session(engine) as session:
        now_numbers = stats.period_numbers(session, request.start, request.end, request.scope)
        before = stats.period_numbers(session, request.start - length, request.start, request.scope)
        sources = stats.top_sources(session, request.start, request.end, request.scope)
        idle_since = (now or request.end) - config.sla.reassign_after
        leaks = stats.leakage(session, request.start, request.end, request.scope, idle_since)
        reps = stats.per_rep(session, request.start, request.end) if request.show_reps else []
    n, b = now_numbers, before
    if n.leads_in == 0:
        return f"*{escape(request.scope_label)}, {request.label}*: no leads came in."
    unknown = next((count for name, count, _, _ in sources if name == UNKNOWN), 0)
    unknown_share = unknown / n.leads_in
    flag = " ⚠️ above the red-flag line" if unknown_share > config.sources.unknown_alert_share else ""
    median, p90 = _duration(n.median_seconds), _duration(n.p90_seconds)
    if config.sla.business_hours is not None:
        median += f" ({_duration(n.median_business_seconds)} in business hours)"
        p90 += f" ({_duration(n.p90_business_seconds)} in business hours)"
    lines = [
        f"*{escape(request.scope_label)}, {request.label}*",
        f"• Leads in: {n.leads_in}{_arrow(n.leads_in, b.leads_in)} · Unknown source {unknown_share:.0%}{flag}",
        f"• Time to first touch: median {median}{_arrow(n.median_seconds, b.median_seconds)}, p90 {p90} · "
        f"SLA compliance {_ratio(n.within_sla, n.leads_in)}"
        f"{_arrow(_share(n.within_sla, n.leads_in), _share(b.within_sla, b.leads_in))} · breaches {n.breaches}",
        f"• Escalations {n.escalations} · reassignments {n.reassignments}",
        f"• Lead → MQL {_ratio(n.mql, n.leads_in)} · lead → SQL {_ratio(n.sql, n.leads_in)} · SQL acceptance "
        f"{_ratio(n.accepted, n.accepted + n.rejected)} · SQL → opportunity {_ratio(n.accepted, n.sql)}",
        "• Sources: "
        + ", ".join(
            f"{escape(name)} {count} ({_ratio(sqls, count)} SQL, {opps} opp)" for name, count, sqls, opps in sources[:5]
        ),
        _leakage_line(leaks, config),
    ]
    if reps:
        lines.append("*Per rep*: leads · median first touch · SLA · SQLs · acceptance")
        for rep in reps:
            median = format_duration(timedelta(seconds=rep.median_seconds)) if rep.median_seconds is not None else "n/a"
            lines.append(
                f"• <@{rep.owner_id}>: {rep.leads} · {median} · {_ratio(rep.within_sla, rep.leads)} · "
                f"{rep.sqls} · {_ratio(rep.accepted, rep.accepted + rep.rejected)}"
            )
    return "\n".join(lines)


def _leakage_line(leaks: stats.Leakage, config: Config) -> str:
    worst = ", ".join(f"#{lead_id} {escape(email)} (<@{owner}>)" for lead_id, email, owner, _ in leaks.worst)
    return (
        f"• Leakage: {leaks.never_touched} never touched · {leaks.touched_after_reassignment} touched only "
        f"after a reassignment · {leaks.idle_open} open with no activity for over "
        f"{format_duration(config.sla.reassign_after)}" + (f": {worst}" if worst else "")
    )


def _duration(seconds: float | None) -> str:
    return format_duration(timedelta(seconds=seconds)) if seconds is not None else "n/a"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _arrow(now_value: float | None, before: float | None) -> str:
    """▲ when the number went up against the period before, ▼ when it went down."""
    if now_value is None or before is None or now_value == before:
        return ""
    return " ▲" if now_value > before else " ▼"


CSV_COLUMNS = [
    "lead_id",
    "created_at",
    "email",
    "source",
    "owner",
    "stage",
    "lifecycle_stage",
    "assigned_at",
    "first_touch_due_at",
    "first_touch_at",
    "seconds_to_first_touch",
    "first_touch_within_sla",
    "reassignments",
    "escalated",
    "sql",
    "accepted",
]


def write_csv(engine: Engine, request: StatsRequest, out) -> int:
    """The per-lead rows behind the report; returns how many were written."""
    import csv

    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    written = 0
    with read_session(engine) as session:
        for (
            lead_id,
            created,
            email,
            source,
            owner,
            stage,
            lifecycle,
            assigned,
            due,
            touched,
            reassigned,
            escalated,
            sql,
            accepted,
        ) in stats.period_leads(session, request.start, request.end, request.scope):
            took = (touched - assigned).total_seconds() if touched and assigned else ""
            within = "" if touched is None else touched <= due
            writer.writerow(
                [
                    lead_id,
                    created.isoformat(),
                    email,
                    source,
                    owner,
                    stage,
                    lifecycle,
                    assigned.isoformat() if assigned else "",
                    due.isoformat() if due else "",
                    touched.isoformat() if touched else "",
                    took,
                    within,
                    reassigned,
                    bool(escalated),
                    bool(sql),
                    bool(accepted),
                ]
            )
            written += 1
    return written


def chart_png(engine: Engine, request: StatsRequest) -> tuple[bytes, str]:
    """The time-to-first-touch distribution as a PNG, with its title."""
    from bot.charts import first_touch_chart  # matplotlib loads only when someone asks for a chart

    with read_session(engine) as session:
        buckets = stats.first_touch_histogram(session, request.start, request.end, request.scope)
    title = f"Time to first touch: {request.scope_label}, {request.label}"
    return first_touch_chart(buckets, title), title
