"""Speed-to-lead numbers for /leadstats."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.config import Config
from bot.sources import UNKNOWN
from store import stats
from store.db import read_session


def first_touch_summary_text(engine: Engine, config: Config, clock: Clock, days: int = 7) -> str:
    now = clock.now()
    with read_session(engine) as session:
        counts = stats.first_touch_counts(session, now - timedelta(days=days), now)
        sources = stats.leads_by_source(session, now - timedelta(days=days))
    if counts.leads_in == 0:
        return f"No leads in the last {days} days."
    compliance = 100 * counts.touched_within_sla / counts.leads_in
    return (
        f"*Last {days} days*: {counts.leads_in} leads in, {counts.touched} contacted, "
        f"{counts.touched_within_sla} within the first-touch SLA ({compliance:.0f}%), "
        f"{counts.overdue_untouched} overdue and still untouched.\n{source_line(sources, config)}"
    )


def source_line(sources: dict[str, int], config: Config) -> str:
    """Leads by source, biggest first, with the share of Unknown flagged past the playbook's 5%."""
    total = sum(sources.values())
    listed = ", ".join(f"{name} {n}" for name, n in sorted(sources.items(), key=lambda kv: (-kv[1], kv[0])))
    unknown = sources.get(UNKNOWN, 0) / total if total else 0.0
    flag = " ⚠️ above the red-flag line" if unknown > config.sources.unknown_alert_share else ""
    return f"*Sources*: {listed}. Unknown: {unknown:.0%}{flag}."
