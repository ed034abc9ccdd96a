"""Where the time to first touch goes, per period: the system's share and the rep's, and how many first touches a
CRM or a tool confirmed (the honest split in /leadstats). Medians walk the seconds in order, as stats does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from store.models import Lead
from store.stats import Scope, scoped


@dataclass(frozen=True)
class TimeSplit:
    before_leadbot: float | None  # median: the source's creation to intake (leads whose source said when)
    to_the_dm: float | None  # median: intake to the owner's DM delivered
    system: float | None  # median: the source's creation (else intake) to the DM delivered
    rep: float | None  # median: the DM delivered to the first touch
    first_touches: int
    confirmed: int  # first-touched leads with a touch logged by a CRM or a tool, not only a Slack click


def time_split(session: Session, start: datetime, end: datetime, scope: Scope) -> TimeSplit:
    period = (col(Lead.created_at) >= start, col(Lead.created_at) < end)
    system = func.coalesce(col(Lead.source_seconds), 0.0) + col(Lead.delivery_seconds)
    touched, confirmed = session.exec(
        scoped(
            select(
                func.count(col(Lead.first_touch_at)),
                func.count(col(Lead.confirmed_touch_at)),
            ).where(*period),
            scope,
        )
    ).one()
    return TimeSplit(
        before_leadbot=_median(session, col(Lead.source_seconds), period, scope),
        to_the_dm=_median(session, col(Lead.delivery_seconds), period, scope),
        system=_median(session, system, period, scope, present=col(Lead.delivery_seconds)),
        rep=_median(session, col(Lead.rep_seconds), period, scope),
        first_touches=touched,
        confirmed=confirmed,
    )


def _median(session: Session, value, period: tuple, scope: Scope, present=None) -> float | None:
    """The nearest-rank median of `value` over the period's leads that have it."""
    present = value if present is None else present
    where = (*period, present.is_not(None))
    population = session.exec(scoped(select(func.count()).select_from(Lead).where(*where), scope)).one()
    if not population:
        return None
    rank = min(population - 1, max(0, int(0.5 * population + 0.999999) - 1))
    found = session.exec(scoped(select(value).where(*where), scope).order_by(value).offset(rank).limit(1)).first()
    return float(found) if found is not None else None
