"""Aggregates for reports, computed in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from store.models import Lead


@dataclass(frozen=True)
class FirstTouchCounts:
    leads_in: int
    touched: int
    touched_within_sla: int
    overdue_untouched: int


def first_touch_counts(session: Session, since: datetime, now: datetime) -> FirstTouchCounts:
    touched = col(Lead.first_touch_at).is_not(None)
    row = session.exec(
        select(
            func.count(),
            func.coalesce(func.sum(case((touched, 1), else_=0)), 0),
            func.coalesce(
                func.sum(case((and_(touched, col(Lead.first_touch_at) <= col(Lead.first_touch_due_at)), 1), else_=0)), 0
            ),
            func.coalesce(func.sum(case((and_(~touched, col(Lead.first_touch_due_at) < now), 1), else_=0)), 0),
        ).where(col(Lead.created_at) >= since)
    ).one()
    return FirstTouchCounts(*(int(v) for v in row))


def leads_by_source(session: Session, since: datetime) -> dict[str, int]:
    rows = session.exec(
        select(Lead.lead_source, func.count()).where(col(Lead.created_at) >= since).group_by(Lead.lead_source)
    ).all()
    return dict(rows)
