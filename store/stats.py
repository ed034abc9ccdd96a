"""Aggregates for reports, computed in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, exists, func
from sqlmodel import Session, col, select

from store.models import Activity, Lead, Opportunity


@dataclass(frozen=True)
class Scope:
    """Which leads a report counts: all, one owner's, or one source's."""

    owner_id: str | None = None
    source: str | None = None


def _scoped(query, scope: Scope):
    if scope.owner_id:
        query = query.where(Lead.owner_id == scope.owner_id)
    if scope.source:
        query = query.where(func.lower(Lead.lead_source) == scope.source.lower())
    return query


def _in_period(start: datetime, end: datetime):
    return and_(col(Lead.created_at) >= start, col(Lead.created_at) < end)


@dataclass(frozen=True)
class PeriodNumbers:
    leads_in: int
    touched: int
    within_sla: int
    breaches: int
    escalations: int
    reassignments: int
    mql: int
    sql: int
    accepted: int
    rejected: int
    median_seconds: float | None
    p90_seconds: float | None
    median_business_seconds: float | None = None
    p90_business_seconds: float | None = None


def period_numbers(session: Session, start: datetime, end: datetime, scope: Scope) -> PeriodNumbers:
    """Everything /leadstats shows for leads that came in during [start, end), from the activity log."""
    touched = col(Lead.first_touch_at).is_not(None)
    head = session.exec(
        _scoped(
            select(
                func.count(),
                func.coalesce(func.sum(case((touched, 1), else_=0)), 0),
                func.coalesce(
                    func.sum(
                        case((and_(touched, col(Lead.first_touch_at) <= col(Lead.first_touch_due_at)), 1), else_=0)
                    ),
                    0,
                ),
            ).where(_in_period(start, end)),
            scope,
        )
    ).one()

    def leads_with(kind: str, **data_equals) -> int:
        query = (
            select(func.count(func.distinct(Activity.lead_id)))
            .join(Lead, col(Lead.id) == col(Activity.lead_id))
            .where(_in_period(start, end), Activity.kind == kind)
        )
        for key, value in data_equals.items():
            query = query.where(Activity.data[key].as_string() == value)
        return session.exec(_scoped(query, scope)).one()

    def events(kind: str, **data_equals) -> int:
        query = (
            select(func.count())
            .select_from(Activity)
            .join(Lead, col(Lead.id) == col(Activity.lead_id))
            .where(_in_period(start, end), Activity.kind == kind)
        )
        for key, value in data_equals.items():
            query = query.where(Activity.data[key].as_string() == value)
        return session.exec(_scoped(query, scope)).one()

    median, p90 = _first_touch_percentiles(session, start, end, scope)
    business_median, business_p90 = _first_touch_percentiles(
        session, start, end, scope, key="business_seconds_to_first_touch"
    )
    return PeriodNumbers(
        leads_in=int(head[0]),
        touched=int(head[1]),
        within_sla=int(head[2]),
        breaches=events("sla_breached", sla="first_touch"),
        escalations=events("escalated"),
        reassignments=events("reassigned"),
        mql=leads_with("mql"),
        sql=leads_with("handed_off"),
        accepted=leads_with("accepted"),
        rejected=events("rejected"),
        median_seconds=median,
        p90_seconds=p90,
        median_business_seconds=business_median,
        p90_business_seconds=business_p90,
    )


def _first_touch_percentiles(
    session: Session, start: datetime, end: datetime, scope: Scope, key: str = "seconds_to_first_touch"
) -> tuple[float | None, float | None]:
    """Median and p90 of time to first touch (wall or business seconds), by ORDER BY … OFFSET (portable)."""
    seconds = Activity.data[key].as_float()
    base = (
        select(seconds)
        .join(Lead, col(Lead.id) == col(Activity.lead_id))
        .where(_in_period(start, end), Activity.kind == "touch", seconds.is_not(None))
    )
    base = _scoped(base, scope)
    count = session.exec(select(func.count()).select_from(base.subquery())).one()
    if not count:
        return None, None

    def at(fraction: float) -> float:
        offset = min(count - 1, max(0, int(fraction * count + 0.999999) - 1))  # nearest-rank percentile
        return float(session.exec(base.order_by(seconds).offset(offset).limit(1)).one())

    return at(0.5), at(0.9)


def top_sources(session: Session, start: datetime, end: datetime, scope: Scope) -> list[tuple[str, int, int, int]]:
    """(source, leads, SQLs, opportunities) for leads that came in during the period, most leads first."""
    sqls = (
        select(func.count(func.distinct(Activity.lead_id)))
        .where(Activity.lead_id == Lead.id, Activity.kind == "handed_off")
        .correlate(Lead)
        .scalar_subquery()
    )
    rows = session.exec(
        _scoped(
            select(Lead.lead_source, func.count(), func.sum(case((sqls > 0, 1), else_=0)), func.count(Opportunity.id))
            .outerjoin(Opportunity, col(Opportunity.lead_id) == col(Lead.id))
            .where(_in_period(start, end))
            .group_by(Lead.lead_source),
            scope,
        )
    ).all()
    return sorted(((s, int(n), int(q or 0), int(o or 0)) for s, n, q, o in rows), key=lambda r: (-r[1], r[0]))


@dataclass(frozen=True)
class Leakage:
    never_touched: int
    touched_after_reassignment: int
    idle_open: int
    worst: list[tuple[int, str, str | None, datetime]]  # (lead id, email, owner, last activity)


def leakage(
    session: Session, start: datetime, end: datetime, scope: Scope, idle_since: datetime, worst: int = 3
) -> Leakage:
    """Leads that slipped: never touched, first touched only after a reassignment, or open and idle too long."""
    never = session.exec(
        _scoped(select(func.count()).where(_in_period(start, end), col(Lead.first_touch_at).is_(None)), scope)
    ).one()
    reassigned_first = exists().where(
        Activity.lead_id == Lead.id, Activity.kind == "reassigned", col(Activity.at) < col(Lead.first_touch_at)
    )
    late = session.exec(
        _scoped(
            select(func.count()).where(_in_period(start, end), col(Lead.first_touch_at).is_not(None), reassigned_first),
            scope,
        )
    ).one()
    idle = and_(col(Lead.is_open), col(Lead.last_activity_at) < idle_since)
    idle_count = session.exec(_scoped(select(func.count()).where(_in_period(start, end), idle), scope)).one()
    rows = session.exec(
        _scoped(
            select(Lead.id, Lead.email, Lead.owner_id, Lead.last_activity_at)
            .where(_in_period(start, end), idle)
            .order_by(col(Lead.last_activity_at))
            .limit(worst),
            scope,
        )
    ).all()
    return Leakage(int(never), int(late), int(idle_count), [tuple(r) for r in rows])


@dataclass(frozen=True)
class RepNumbers:
    owner_id: str
    leads: int
    within_sla: int
    sqls: int
    accepted: int
    rejected: int
    median_seconds: float | None


def per_rep(session: Session, start: datetime, end: datetime) -> list[RepNumbers]:
    """One row per current owner of the period's leads, most leads first."""
    touched_in_time = and_(
        col(Lead.first_touch_at).is_not(None), col(Lead.first_touch_at) <= col(Lead.first_touch_due_at)
    )

    def count_kind(kind: str, owner: str | None):
        return (
            select(func.count(func.distinct(Activity.lead_id)))
            .join(Lead, col(Lead.id) == col(Activity.lead_id))
            .where(_in_period(start, end), Activity.kind == kind, Lead.owner_id == owner)
        )

    rows = session.exec(
        select(Lead.owner_id, func.count(), func.sum(case((touched_in_time, 1), else_=0)))
        .where(_in_period(start, end))
        .group_by(Lead.owner_id)
    ).all()
    result = []
    for owner, leads, within in rows:
        median, _ = _first_touch_percentiles(session, start, end, Scope(owner_id=owner))
        result.append(
            RepNumbers(
                owner,
                int(leads),
                int(within or 0),
                session.exec(count_kind("handed_off", owner)).one(),
                session.exec(count_kind("accepted", owner)).one(),
                session.exec(count_kind("rejected", owner)).one(),
                median,
            )
        )
    return sorted(result, key=lambda r: (-r.leads, r.owner_id or ""))


def period_leads(session: Session, start: datetime, end: datetime, scope: Scope):
    """The per-lead rows behind a report, oldest first (streamed, for spreadsheets)."""

    def flag(kind: str):
        return exists().where(Activity.lead_id == Lead.id, Activity.kind == kind)

    query = _scoped(
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
            Lead.reassign_count,
            flag("escalated"),
            flag("handed_off"),
            flag("accepted"),
        )
        .where(_in_period(start, end))
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
    seconds = Activity.data["seconds_to_first_touch"].as_float()
    bucket = case(
        *[(seconds < limit, label) for limit, label in FIRST_TOUCH_BUCKETS if limit], else_=FIRST_TOUCH_BUCKETS[-1][1]
    )
    rows = dict(
        session.exec(
            _scoped(
                select(bucket, func.count())
                .join(Lead, col(Lead.id) == col(Activity.lead_id))
                .where(_in_period(start, end), Activity.kind == "touch", seconds.is_not(None))
                .group_by(bucket),
                scope,
            )
        ).all()
    )
    return [(label, int(rows.get(label, 0))) for _, label in FIRST_TOUCH_BUCKETS]
