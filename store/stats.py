"""Aggregates for reports, computed in SQL from the lead rows' report facts and their daily rollup.

The facts (first-touch seconds, breaches, escalations, SQL, opportunity, ...) are kept on each lead by
store.leads.log_activity as the activity log grows, so they are the log's figures per lead; store.report_facts
recomputes them from the whole log. Counts for whole UTC days come from `stats_day`, which `fold_changes`
rebuilds for every day with a changed lead; the period's partial first and last days and any day not yet
folded are counted from the lead rows, so a report is exact whenever it runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, delete, func, insert, literal, literal_column, or_, type_coerce
from sqlmodel import Session, col, select

from store.db import UTCDateTime, one_at_a_time
from store.models import Lead, StatsChange, StatsDay

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Scope:
    """Which leads a report counts: all, one owner's, or one source's."""

    owner_id: str | None = None
    source: str | None = None


# -- counts ---------------------------------------------------------------------------------------------
@dataclass
class Counts:
    """What a report counts for a set of leads (those created in the period)."""

    leads: int = 0
    touched: int = 0
    within_sla: int = 0  # first touch at or before its due time
    timed: int = 0  # first touches whose wall-clock time is recorded: the percentiles' population
    timed_business: int = 0
    breaches: int = 0  # first-touch SLA breaches
    escalations: int = 0
    reassignments: int = 0
    touched_after_reassignment: int = 0
    mql: int = 0
    sql: int = 0  # handed to an AE
    accepted: int = 0  # accepted by the AE: an opportunity
    rejected: int = 0  # rejections by the AE (a lead can be rejected more than once)
    open: int = 0  # still open (with a last activity time)

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def never_touched(self) -> int:
        return self.leads - self.touched


COUNT_NAMES = [f.name for f in fields(Counts)]


def _lead_counts() -> dict:
    """Each count as an aggregate over lead rows: the one definition both the rollup and the edges use."""
    touched = col(Lead.first_touch_at).is_not(None)

    def flag(condition) -> object:
        return func.sum(case((condition, 1), else_=0))

    return {
        "leads": func.count(),
        "touched": flag(touched),
        "within_sla": flag(and_(touched, col(Lead.first_touch_at) <= col(Lead.first_touch_due_at))),
        "timed": func.count(Lead.first_touch_seconds),
        "timed_business": func.count(Lead.first_touch_business_seconds),
        "breaches": func.sum(Lead.first_touch_breaches),
        "escalations": func.sum(Lead.escalations),
        "reassignments": func.sum(Lead.reassign_count),
        "touched_after_reassignment": flag(col(Lead.touched_after_reassignment)),
        "mql": flag(col(Lead.reached_mql)),
        "sql": flag(col(Lead.reached_sql)),
        "accepted": flag(col(Lead.reached_opportunity)),
        "rejected": func.sum(Lead.rejections),
        "open": flag(and_(col(Lead.is_open), col(Lead.last_activity_at).is_not(None))),
    }


_OWNER_KEY = func.coalesce(Lead.owner_id, "")


@dataclass
class PeriodCounts:
    """Counts per (owner, source) for a period; the team, each owner and each source add them up."""

    groups: dict[tuple[str, str], Counts] = field(default_factory=dict)

    def add(self, owner: str, source: str, counts: Counts) -> None:
        self.groups.setdefault((owner, source), Counts()).add(counts)

    @property
    def total(self) -> Counts:
        return _sum(self.groups.values())

    def by_owner(self) -> dict[str, Counts]:
        return {o: _sum(c for (owner, _), c in self.groups.items() if owner == o) for o, _ in self.groups}

    def by_source(self) -> dict[str, Counts]:
        return {s: _sum(c for (_, source), c in self.groups.items() if source == s) for _, s in self.groups}


def _sum(counts: Iterable[Counts]) -> Counts:
    total = Counts()
    for c in counts:
        total.add(c)
    return total


def scoped(query, scope: Scope, owner=Lead.owner_id, source=Lead.lead_source):
    """The query narrowed to the report's scope: one owner's leads, or one source's (any case)."""
    if scope.owner_id:
        query = query.where(owner == scope.owner_id)
    if scope.source:
        query = query.where(func.lower(source) == scope.source.lower())
    return query


def floor_day(moment: datetime) -> datetime:
    """Midnight UTC of the moment's day: the rollup's unit."""
    moment = moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _ceil_day(moment: datetime) -> datetime:
    floor = floor_day(moment)
    return floor if floor == moment else floor + DAY


def period_counts(session: Session, start: datetime, end: datetime, scope: Scope) -> PeriodCounts:
    """Counts for the leads created in [start, end): whole folded days from the rollup, the rest from leads."""
    result = PeriodCounts()
    first_day, last_day = _ceil_day(start), floor_day(end)
    if first_day >= last_day:
        _add_lead_counts(session, result, [(start, end)], scope)
        return result
    unfolded = sorted(_unfolded_days(session, first_day, last_day))
    rollup = scoped(
        select(StatsDay.owner_id, StatsDay.lead_source, *[func.sum(getattr(StatsDay, n)) for n in COUNT_NAMES])
        .where(col(StatsDay.day) >= first_day, col(StatsDay.day) < last_day)
        .group_by(StatsDay.owner_id, StatsDay.lead_source),
        scope,
        StatsDay.owner_id,
        StatsDay.lead_source,
    )
    if unfolded:
        rollup = rollup.where(col(StatsDay.day).not_in(unfolded))
    for owner, source, *values in session.exec(rollup):
        result.add(owner, source, Counts(*(int(v or 0) for v in values)))
    ranges = [(start, first_day), (last_day, end)] + [(day, day + DAY) for day in unfolded]
    _add_lead_counts(session, result, _merged(ranges), scope)
    return result


def _merged(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for low, high in sorted(r for r in ranges if r[0] < r[1]):
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return merged


def _add_lead_counts(session: Session, result: PeriodCounts, ranges: list, scope: Scope) -> None:
    if not ranges:
        return
    within = or_(*[and_(col(Lead.created_at) >= low, col(Lead.created_at) < high) for low, high in ranges])
    query = scoped(
        select(_OWNER_KEY, Lead.lead_source, *_lead_counts().values())
        .where(within)
        .group_by(_OWNER_KEY, Lead.lead_source),
        scope,
    )
    for owner, source, *values in session.exec(query):
        result.add(owner, source, Counts(*(int(v or 0) for v in values)))


def _unfolded_days(session: Session, start: datetime, end: datetime) -> set[datetime]:
    """Days in [start, end) with a lead changed since the rollup was last folded."""
    created = session.exec(
        select(Lead.created_at)
        .distinct()
        .join(StatsChange, col(StatsChange.lead_id) == col(Lead.id))
        .where(col(Lead.created_at) >= start, col(Lead.created_at) < end)
    )
    return {floor_day(moment) for moment in created}


def fold_changes(session: Session, limit: int = 5000) -> int:
    """Rebuild the rollup for the days of up to `limit` changed leads; returns how many changes it took.

    Runs in the caller's write transaction. Changes that arrive meanwhile stay queued for the next fold,
    since only the rows read here are deleted. On PostgreSQL folds take turns on an advisory lock, because
    two folds of one day would both insert its rows.
    """
    one_at_a_time(session, _FOLD_LOCK)
    changes = session.exec(select(StatsChange.id, StatsChange.lead_id).order_by(col(StatsChange.id)).limit(limit)).all()
    if not changes:
        return 0
    lead_ids = sorted({lead_id for _, lead_id in changes})
    days: set[datetime] = set()
    for chunk in _chunks(lead_ids, 900):
        days |= {floor_day(c) for c in session.exec(select(Lead.created_at).where(col(Lead.id).in_(chunk)))}
    for day in sorted(days):
        session.exec(delete(StatsDay).where(col(StatsDay.day) == day))
        rows = select(literal(day, StatsDay.day.type), _OWNER_KEY, Lead.lead_source, *_lead_counts().values())
        rows = rows.where(col(Lead.created_at) >= day, col(Lead.created_at) < day + DAY)
        session.exec(
            insert(StatsDay).from_select(
                ["day", "owner_id", "lead_source", *COUNT_NAMES], rows.group_by(_OWNER_KEY, Lead.lead_source)
            )
        )
    for chunk in _chunks([change_id for change_id, _ in changes], 900):
        session.exec(delete(StatsChange).where(col(StatsChange.id).in_(chunk)))
    return len(changes)


_FOLD_LOCK = 0x1EAD57A7  # any fixed number: the advisory lock the folds share


def pending_changes(session: Session) -> int:
    return session.exec(select(func.count()).select_from(StatsChange)).one()


def _chunks(items: list, size: int) -> Iterator[list]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


# -- percentiles ----------------------------------------------------------------------------------------
def first_touch_seconds_at(
    session: Session,
    start: datetime,
    end: datetime,
    scope: Scope,
    fraction: float,
    population: int,
    business: bool = False,
) -> float | None:
    """The nearest-rank percentile of time to first touch among `population` timed first touches.

    Walks an index in order of the seconds (ix_lead_first_touch_seconds, or the owner's) to the rank
    instead of sorting a large period; `population` is the matching `Counts.timed` (or timed_business).
    """
    if not population:
        return None
    seconds = col(Lead.first_touch_business_seconds) if business else col(Lead.first_touch_seconds)
    rank = min(population - 1, max(0, int(fraction * population + 0.999999) - 1))
    created = _created_at_not_indexed(session) if population >= _WALK_FROM else col(Lead.created_at)
    query = scoped(select(seconds).where(seconds.is_not(None), created >= start, created < end), scope)
    order = (col(Lead.owner_id), seconds) if scope.owner_id else (seconds,)
    value = session.exec(query.order_by(*order).offset(rank).limit(1)).first()
    return float(value) if value is not None else None


_WALK_FROM = 20_000  # below this many first touches, sorting the period beats walking the whole index


def _created_at_not_indexed(session: Session):
    """lead.created_at as a filter the planner will not drive the query with, on SQLite.

    SQLite keeps no range statistics, so given a created_at range it takes that index, then sorts or
    filters the whole period. Where another index fits the query better (a walk in order of the seconds,
    or the open leads by last activity), a unary + hides created_at from the planner. PostgreSQL has
    statistics and chooses by itself.
    """
    if session.get_bind().dialect.name == "sqlite":
        return type_coerce(literal_column("+lead.created_at"), UTCDateTime())
    return col(Lead.created_at)


# -- leakage --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IdleLeads:
    count: int
    worst: list[tuple[int, str, str | None, datetime]]  # (lead id, email, owner, last activity)


def idle_open_leads(
    session: Session,
    start: datetime,
    end: datetime,
    scope: Scope,
    idle_since: datetime,
    still_open: int,
    worst: int = 3,
) -> IdleLeads:
    """Open leads created in the period with no activity since `idle_since`, the longest idle named.

    `still_open` is the period's `Counts.open`; the recently active are few, so they are what is counted
    (in ix_lead_open_idle) and taken away, rather than counting the idle, who can be most of the table.
    """
    created = _created_at_not_indexed(session)  # ix_lead_open_idle: by last activity, few active, oldest first
    period = (col(Lead.is_open), created >= start, created < end)
    active = scoped(
        select(func.count()).select_from(Lead).where(*period, col(Lead.last_activity_at) >= idle_since), scope
    )
    count = still_open - session.exec(active).one()
    named = select(Lead.id, Lead.email, Lead.owner_id, Lead.last_activity_at).where(
        *period, col(Lead.last_activity_at) < idle_since
    )
    rows = session.exec(scoped(named, scope).order_by(col(Lead.last_activity_at)).limit(worst)).all() if count else []
    return IdleLeads(int(count), [tuple(r) for r in rows])


# -- rows and buckets ----------------------------------------------------------------------------------
def period_leads(session: Session, start: datetime, end: datetime, scope: Scope):
    """The per-lead rows behind a report, oldest first (streamed, for spreadsheets)."""
    query = scoped(
        select(
            Lead.id,
            Lead.created_at,
            Lead.email,
            Lead.lead_source,
            Lead.owner_id,
            Lead.stage,
            Lead.lifecycle_stage,
            Lead.assigned_at,
            Lead.first_touch_due_at,
            Lead.first_touch_at,
            Lead.first_touch_seconds,
            Lead.reassign_count,
            col(Lead.escalations) > 0,
            Lead.reached_sql,
            Lead.reached_opportunity,
        )
        .where(col(Lead.created_at) >= start, col(Lead.created_at) < end)
        .order_by(col(Lead.created_at), col(Lead.id)),
        scope,
    )
    yield from session.exec(query)


FIRST_TOUCH_BUCKETS = [
    (300, "< 5m"),
    (900, "5-15m"),
    (1800, "15-30m"),
    (3600, "30-60m"),
    (14400, "1-4h"),
    (86400, "4-24h"),
    (None, "> 1d"),
]


def first_touch_histogram(session: Session, start: datetime, end: datetime, scope: Scope) -> list[tuple[str, int]]:
    """How many first touches fell in each time bucket, counted in SQL."""
    seconds = col(Lead.first_touch_seconds)
    bucket = case(
        *[(seconds < limit, label) for limit, label in FIRST_TOUCH_BUCKETS if limit], else_=FIRST_TOUCH_BUCKETS[-1][1]
    )
    rows = dict(
        session.exec(
            scoped(
                select(bucket, func.count())
                .where(col(Lead.created_at) >= start, col(Lead.created_at) < end, seconds.is_not(None))
                .group_by(bucket),
                scope,
            )
        ).all()
    )
    return [(label, int(rows.get(label, 0))) for _, label in FIRST_TOUCH_BUCKETS]
