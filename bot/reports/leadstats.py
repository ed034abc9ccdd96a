"""`/leadstats [period] [scope] [public]`: speed-to-lead and conversion numbers for a period.

Periods: today, 7d (default), 30d, 90d, this-month, last-month, or YYYY-MM-DD..YYYY-MM-DD (both days
included, in the team's time zone). Scopes: team (default), @rep, source:NAME. Each number comes from the
activity log by SQL aggregation (store/stats.py) and is compared with the period just before it (▲/▼).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.engine import Engine

from bot.core.config import Config
from bot.core.durations import format_duration
from bot.core.team import UnknownMember, find_member, names_a_member
from bot.intake.sources import UNKNOWN
from bot.slack.blocks import escape
from store import stats
from store.db import read_session, write_session
from store.time_split import TimeSplit, time_split

USAGE = (
    "Usage: `/leadstats [today|7d|30d|90d|this-month|last-month|YYYY-MM-DD..YYYY-MM-DD] "
    "[team|@rep|source:NAME] [public] [chart]`"
)
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
    words = _words(text, config)
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
        elif names_a_member(word):
            try:
                member = find_member(config, word)
            except UnknownMember as exc:
                raise UsageError(f"{exc} {USAGE}") from None
            scope, scope_label = stats.Scope(owner_id=member.slack_id), member.name
        elif lowered.startswith("source:") and len(word) > len("source:"):
            name = word.split(":", 1)[1]
            name = next((s for s in [*config.sources.standard, UNKNOWN] if s.lower() == name.lower()), name)
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


_TOKEN = re.compile(r'(?:[^\s"]+|"[^"]*")+')


def _words(text: str, config: Config) -> list[str]:
    """The words of the command; `source:"Paid Search"` (any quotes) or `source:Paid Search` is one word."""
    text = text.replace("\u201c", '"').replace("\u201d", '"')  # the curly quotes a Mac types
    if text.count('"') % 2:
        raise UsageError(f"A quote is not closed. {USAGE}")
    words = [token.replace('"', "") for token in _TOKEN.findall(text)]
    standard = [name.lower() for name in config.sources.standard]
    joined: list[str] = []
    for word in words:
        last = joined[-1] if joined else ""
        if last.lower().startswith("source:"):
            longer = f"{last.split(':', 1)[1]} {word}".lower()
            if any(name == longer or name.startswith(longer + " ") for name in standard):
                joined[-1] = f"{last} {word}"
                continue
        joined.append(word)
    return joined


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


def fold_rollup(engine: Engine, batch: int = 5000) -> int:
    """Fold every queued lead change into the daily rollup, a batch per transaction; returns how many."""
    folded = 0
    while True:
        with write_session(engine) as session:
            taken = stats.fold_changes(session, batch)
        folded += taken
        if taken < batch:
            return folded


@dataclass(frozen=True)
class RepLine:
    owner_id: str
    counts: stats.Counts
    median_seconds: float | None
    split: TimeSplit


@dataclass(frozen=True)
class ReportFigures:
    """What the report says, all counted in SQL: this period, the one before, percentiles, leakage, reps."""

    period: stats.PeriodCounts
    before: stats.Counts
    median: float | None
    p90: float | None
    median_before: float | None
    business: list[float | None] | None  # median and p90 in business time, when business hours are set
    idle: stats.IdleLeads
    reps: list[RepLine]
    split: TimeSplit


def report_text(engine: Engine, config: Config, request: StatsRequest, now: datetime | None = None) -> str:
    """The report as Slack mrkdwn; every number is computed in SQL for the period and the one before."""
    with read_session(engine) as session:
        figures = _figures(session, config, request, now)
    if figures is None:
        return f"*{escape(request.scope_label)}, {request.label}*: no leads came in."
    return "\n".join(_summary_lines(figures, config, request) + _rep_lines(figures.reps))


def _figures(session, config: Config, request: StatsRequest, now: datetime | None) -> ReportFigures | None:
    length = request.end - request.start
    start, end, scope = request.start, request.end, request.scope
    period = stats.period_counts(session, start, end, scope)
    n = period.total
    if n.leads == 0:
        return None
    b = stats.period_counts(session, start - length, start, scope).total

    def percentile(fraction: float, counts: stats.Counts, scope=scope, start=start, end=end) -> float | None:
        return stats.first_touch_seconds_at(session, start, end, scope, fraction, counts.timed)

    business = None
    if config.sla.business_hours is not None:
        business = [
            stats.first_touch_seconds_at(session, start, end, scope, f, n.timed_business, business=True)
            for f in (0.5, 0.9)
        ]
    idle = stats.idle_open_leads(session, start, end, scope, (now or end) - config.sla.reassign_after, n.open)
    reps = []
    if request.show_reps:
        by_owner = period.by_owner()
        for member in config.members_with_role("sdr"):  # a rep who got no leads is still on the table, with zeros
            by_owner.setdefault(member.slack_id, stats.Counts())
        reps = [
            RepLine(
                owner,
                counts,
                percentile(0.5, counts, scope=stats.Scope(owner_id=owner)),
                time_split(session, start, end, stats.Scope(owner_id=owner, source=scope.source)),
            )
            for owner, counts in by_owner.items()
            if owner  # leads without an owner (backfilled from a rep who left) count for the team, not as a rep
        ]
    median_before = percentile(0.5, b, start=start - length, end=start)
    split = time_split(session, start, end, scope)
    return ReportFigures(period, b, percentile(0.5, n), percentile(0.9, n), median_before, business, idle, reps, split)


def _summary_lines(figures: ReportFigures, config: Config, request: StatsRequest) -> list[str]:
    n, b, period = figures.period.total, figures.before, figures.period
    sources = sorted(period.by_source().items(), key=lambda item: (-item[1].leads, item[0]))
    unknown_share = period.by_source().get(UNKNOWN, stats.Counts()).leads / n.leads
    flag = " ⚠️ above the red-flag line" if unknown_share > config.sources.unknown_alert_share else ""
    median_text, p90_text = _duration(figures.median), _duration(figures.p90)
    if figures.business is not None:
        median_text += f" ({_duration(figures.business[0])} in business hours)"
        p90_text += f" ({_duration(figures.business[1])} in business hours)"
    return [
        f"*{escape(request.scope_label)}, {request.label}*",
        f"• Leads in: {n.leads}{_arrow(n.leads, b.leads)} · Unknown source {unknown_share:.0%}{flag}",
        f"• Time to first touch: median {median_text}{_arrow(figures.median, figures.median_before)}, "
        f"p90 {p90_text} · SLA compliance {_ratio(n.within_sla, n.leads)}"
        f"{_arrow(_share(n.within_sla, n.leads), _share(b.within_sla, b.leads))} · breaches {n.breaches}",
        _split_line(figures.split),
        f"• Escalations {n.escalations} · reassignments {n.reassignments}",
        f"• Lead → MQL {_ratio(n.mql, n.leads)} · lead → SQL {_ratio(n.sql, n.leads)} · SQL acceptance "
        f"{_ratio(n.accepted, n.accepted + n.rejected)} · SQL → opportunity {_ratio(n.accepted, n.sql)}",
        "• Sources: "
        + ", ".join(
            f"{escape(name)} {c.leads} ({_ratio(c.sql, c.leads)} SQL, {c.accepted} opp)" for name, c in sources[:5]
        ),
        _leakage_line(n, figures.idle, config),
    ]


def _split_line(split: TimeSplit) -> str:
    """Which part of the delay is the system's and which the rep's, and how many touches a system confirmed."""
    return (
        f"• Where the time goes: system {_duration(split.system)} (before Leadbot {_duration(split.before_leadbot)}, "
        f"Leadbot to the DM {_duration(split.to_the_dm)}) · rep {_duration(split.rep)} (DM to first touch) · "
        f"first touches confirmed by the CRM or a tool {_ratio(split.confirmed, split.first_touches)}, "
        f"Slack click only {_ratio(split.first_touches - split.confirmed, split.first_touches)}"
    )


def _rep_lines(reps: list[RepLine]) -> list[str]:
    if not reps:
        return []
    lines = ["*Per rep*: leads · median first touch · SLA · SQLs · acceptance · rep delay · confirmed touches"]
    for rep in sorted(reps, key=lambda r: (-r.counts.leads, r.owner_id)):
        c, split = rep.counts, rep.split
        lines.append(
            f"• <@{rep.owner_id}>: {c.leads} · {_duration(rep.median_seconds)} · {_ratio(c.within_sla, c.leads)} · "
            f"{c.sql} · {_ratio(c.accepted, c.accepted + c.rejected)} · {_duration(split.rep)} · "
            f"{_ratio(split.confirmed, split.first_touches)}"
        )
    return lines


def _leakage_line(counts: stats.Counts, idle: stats.IdleLeads, config: Config) -> str:
    worst = ", ".join(
        f"#{lead_id} {escape(email)} ({f'<@{owner}>' if owner else 'no owner'})"
        for lead_id, email, owner, _ in idle.worst
    )
    return (
        f"• Leakage: {counts.never_touched} never touched · {counts.touched_after_reassignment} touched only "
        f"after a reassignment · {idle.count} open with no activity for over "
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
            seconds,
            reassigned,
            escalated,
            sql,
            accepted,
        ) in stats.period_leads(session, request.start, request.end, request.scope):
            took = seconds if seconds is not None else ""
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


@dataclass(frozen=True)
class Chart:
    png: bytes
    title: str
    alt_text: str  # what a screen reader says instead of the picture


def chart_png(engine: Engine, request: StatsRequest) -> Chart:
    """The time-to-first-touch distribution as a PNG, with its title and the same numbers in words."""
    from bot.reports.charts import first_touch_chart  # matplotlib loads only when someone asks for a chart

    with read_session(engine) as session:
        buckets = stats.first_touch_histogram(session, request.start, request.end, request.scope)
    title = f"Time to first touch: {request.scope_label}, {request.label}"
    counts = ", ".join(f"{label}: {n}" for label, n in buckets)
    alt_text = f"Bar chart. {title}. Leads first touched in each time band: {counts}."
    return Chart(first_touch_chart(buckets, title), title, alt_text[:1000])
