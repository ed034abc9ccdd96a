"""How long /leadstats and the App Home take with many leads and their activity.

    python bench/stats_cost.py --leads 1000000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/stats_cost.py --leads 1000000

A DATABASE_URL that already holds `--leads` leads from an earlier run is measured again without seeding.

Seeds `--leads` leads over the last 120 days with their activity log (created, assigned, a first
touch for 80% with its seconds, escalations, SQLs and accepts for some), then times the real
`bot.leadstats.report_text` for `90d` as a manager sees it (team numbers, the previous period,
sources, leakage and the per-rep table) and one App Home render for a manager and for an SDR.
Targets (issue #6): under 1 s on SQLite and under 500 ms on PostgreSQL at 1M leads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import insert

from bot.core.config import parse_config
from bot.reports.home import home_for
from bot.reports.leadstats import fold_rollup, parse_request, report_text
from bot.runtime.app import prepare_database
from store import leads as lead_store
from store.db import make_engine, read_session, write_session
from store.migrate import upgrade
from store.models import StatsChange
from store.stats import rebuild_facts

CONFIG = """
timezone: UTC
channels: {escalations: C0ESCALATE, handoffs: C0HANDOFF}
team:
  - {slack_id: U0SDR1, name: Rep One, role: sdr}
  - {slack_id: U0SDR2, name: Rep Two, role: sdr}
  - {slack_id: U0SDR3, name: Rep Three, role: sdr}
  - {slack_id: U0SDR4, name: Rep Four, role: sdr}
  - {slack_id: U0AE1, name: Alex, role: ae}
  - {slack_id: U0MGR1, name: Manager, role: manager}
routing: {fallback: U0MGR1}
"""
SOURCES = ["Website", "Paid Search", "Paid Social", "Events", "Unknown"]


def seed(engine, leads: int, now: datetime) -> None:
    batch = 5000
    for offset in range(0, leads, batch):
        lead_rows, activity_rows = [], []
        for n in range(offset + 1, min(offset + batch, leads) + 1):
            created = now - timedelta(days=120) + timedelta(seconds=n * (120 * 86400 // leads))
            touched = n % 5 != 0
            seconds = (n * 37) % 3600
            sql, accepted = n % 20 == 0, n % 40 == 0
            owner = f"U0SDR{n % 4 + 1}"
            lead_rows.append(
                {
                    "id": n,
                    "email": f"l{n}@c{n % 9973}.com",
                    "email_norm": f"l{n}@c{n % 9973}.com",
                    "domain": f"c{n % 9973}.com",
                    "lead_source": SOURCES[n % len(SOURCES)],
                    "demo_request": False,
                    "pages_visited": [],
                    "extra": {},
                    "score": 20,
                    "score_reasons": [],
                    "hot": False,
                    "stage": "accepted" if accepted else "sql" if sql else "attempting_contact" if touched else "new",
                    "lifecycle_stage": "lead",
                    "is_open": not accepted,
                    "owner_id": owner,
                    "created_at": created,
                    "assigned_at": created,
                    "first_touch_due_at": created + timedelta(minutes=15),
                    "first_touch_at": created + timedelta(seconds=seconds) if touched else None,
                    "last_activity_at": created + timedelta(seconds=seconds),
                    "idle_period": 1,
                    "ae_id": "U0AE1" if sql else None,
                    # The report facts log_activity would have kept for these events.
                    "first_touch_seconds": float(seconds) if touched else None,
                    "first_touch_business_seconds": float(seconds) if touched else None,
                    "first_touch_breaches": 0 if touched else 1,
                    "escalations": 1 if n % 7 == 0 else 0,
                    "last_escalated_at": created + timedelta(seconds=seconds) if n % 7 == 0 else None,
                    "reached_sql": sql,
                    "reached_opportunity": accepted,
                }
            )
            events = [("created", {}), ("scored", {}), ("assigned", {"owner": owner})]
            if touched:
                events.append(
                    (
                        "touch",
                        {
                            "first": True,
                            "seconds_to_first_touch": float(seconds),
                            "business_seconds_to_first_touch": float(seconds),
                        },
                    )
                )
            else:
                events.append(("sla_breached", {"sla": "first_touch"}))
            if n % 7 == 0:
                events.append(("escalated", {}))
            if sql:
                events.append(("handed_off", {"ae": "U0AE1"}))
            if accepted:
                events.append(("accepted", {}))
            activity_rows += [
                {"lead_id": n, "at": created + timedelta(seconds=seconds), "actor": owner, "kind": kind, "data": data}
                for kind, data in events
            ]
        with write_session(engine) as session:
            lead_store.bulk_insert(session, lead_rows, activity_rows)


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="also time rebuilding the facts from the log")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(tempfile.mkdtemp(prefix='leadbot-stats-')) / 's.db'}"
    config = parse_config(yaml.safe_load(CONFIG), "bench config")
    engine = make_engine(url)
    upgrade(engine)
    prepare_database(engine, config)
    now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    started = time.perf_counter()
    with read_session(engine) as session:
        already = lead_store.count_leads(session)
    if already not in (0, args.leads):
        raise SystemExit(
            f"{url} holds {already:,} leads, not {args.leads:,}: use an empty database or the same --leads"
        )
    if not already:  # a database seeded by an earlier run is measured again as it is
        seed(engine, args.leads, now)
    seeded = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")

    how = f"seeded in {seeded:.0f}s" if not already else "seeded by an earlier run"
    print(f"database: {engine.dialect.name}, {args.leads:,} leads with their activity ({how})")
    request = parse_request("90d", "U0MGR1", config, now)

    def report_90d() -> str:
        return report_text(engine, config, request, now)

    # Before the worker has folded anything: every day is counted from the leads (the slow, exact path).
    unfolded_ms = timed(report_90d, 1) if not already else None
    started = time.perf_counter()
    folded = fold_rollup(engine)
    print(f"fold of {folded:,} queued changes into the daily rollup: {time.perf_counter() - started:.1f}s (once)")
    if engine.dialect.name == "postgresql":  # as autovacuum would have by now: statistics, visibility map
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    assert report_90d() == report_text(engine, config, request, now)
    stats_ms = timed(report_90d, args.repeat)
    manager_ms = timed(lambda: home_for(engine, config, now, "U0MGR1"), args.repeat)
    sdr_ms = timed(lambda: home_for(engine, config, now, "U0SDR1"), args.repeat)
    # A busy hour: 500 recent leads changed since the last fold (their days are counted from the leads).
    with write_session(engine) as session:
        session.exec(insert(StatsChange), params=[{"lead_id": args.leads - n} for n in range(500)])
    busy_ms = timed(report_90d, args.repeat)
    print(f"/leadstats 90d (manager, with per-rep table): median {stats_ms[0]:.0f} ms, max {stats_ms[1]:.0f} ms")
    print(f"  with 500 recent changes not yet folded: median {busy_ms[0]:.0f} ms, max {busy_ms[1]:.0f} ms")
    if unfolded_ms:
        print(f"  before the first fold (every day from the leads): {unfolded_ms[0]:.0f} ms")
    print(f"App Home render: manager median {manager_ms[0]:.0f} ms, SDR median {sdr_ms[0]:.0f} ms")
    if args.rebuild:
        started = time.perf_counter()
        with write_session(engine) as session:
            rebuild_facts(session)
        print(f"rebuild of every lead's report facts from the activity log: {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
