"""Speed-to-lead numbers for /leadstats."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.config import Config
from store import stats
from store.db import read_session


def first_touch_summary_text(engine: Engine, config: Config, clock: Clock, days: int = 7) -> str:
    now = clock.now()
    with read_session(engine) as session:
        counts = stats.first_touch_counts(session, now - timedelta(days=days), now)
    if counts.leads_in == 0:
        return f"No leads in the last {days} days."
    compliance = 100 * counts.touched_within_sla / counts.leads_in
    return (
        f"*Last {days} days*: {counts.leads_in} leads in, {counts.touched} contacted, "
        f"{counts.touched_within_sla} within the first-touch SLA ({compliance:.0f}%), "
        f"{counts.overdue_untouched} overdue and still untouched."
    )
