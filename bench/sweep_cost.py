"""The cost of one SLA sweep with many open leads, when nothing is due and when 1,000 are due.

    python bench/sweep_cost.py --leads 1000000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/sweep_cost.py --leads 1000000

Seeds `--leads` open leads, each with pending escalation and reassignment timers; `--due` of them
(1,000 by default) have their escalation due one hour after the start, the rest days later. Then it
times the real `bot.sweep.sweep` at the start (0 due, repeated) and one hour later (the 1,000 fire:
claim, escalation activity and outbox row, one transaction each).
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

from bot.core.config import parse_config
from bot.runtime.app import prepare_database
from bot.sla.sweep import sweep
from store import leads as lead_store
from store import timers as timer_store
from store.db import make_engine, write_session
from store.migrate import upgrade

CONFIG = """
timezone: UTC
channels: {escalations: C0ESCALATE, handoffs: C0HANDOFF}
team:
  - {slack_id: U0SDR1, name: Rep One, role: sdr}
  - {slack_id: U0SDR2, name: Rep Two, role: sdr}
  - {slack_id: U0MGR1, name: Manager, role: manager}
routing: {fallback: U0MGR1}
"""


def seed(engine, leads: int, due: int, start: datetime) -> None:
    batch = 10_000
    with write_session(engine) as session:
        first = lead_store.max_lead_id(session) + 1
    for offset in range(0, leads, batch):
        lead_rows, timer_rows = [], []
        for n in range(first + offset, first + min(offset + batch, leads)):
            email = f"open{n}@company{n % 5000}.com"
            lead_rows.append(
                {
                    "id": n,
                    "email": email,
                    "email_norm": email,
                    "domain": f"company{n % 5000}.com",
                    "lead_source": "Website",
                    "demo_request": False,
                    "pages_visited": [],
                    "extra": {},
                    "score": 10,
                    "score_reasons": [],
                    "hot": False,
                    "stage": "attempting_contact",
                    "lifecycle_stage": "lead",
                    "is_open": True,
                    "owner_id": f"U0SDR{n % 2 + 1}",
                    "created_at": start - timedelta(minutes=30),
                    "assigned_at": start - timedelta(minutes=30),
                    "first_touch_at": start - timedelta(minutes=20),
                    "last_activity_at": start - timedelta(minutes=20),
                    "idle_period": 1,
                    "reassign_count": 0,
                }
            )
            escalate_at = start + timedelta(hours=1) if n - first < due else start + timedelta(days=3)
            timer_rows += [
                {
                    "lead_id": n,
                    "kind": "escalate",
                    "period": 1,
                    "due_at": escalate_at,
                    "state": "pending",
                    "created_at": start,
                },
                {
                    "lead_id": n,
                    "kind": "reassign",
                    "period": 1,
                    "due_at": start + timedelta(days=5),
                    "state": "pending",
                    "created_at": start,
                },
            ]
        with write_session(engine) as session:
            lead_store.bulk_insert(session, lead_rows, [])
            timer_store.bulk_insert(session, timer_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50, help="empty sweeps to time")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(tempfile.mkdtemp(prefix='leadbot-sweep-')) / 'b.db'}"
    config = parse_config(yaml.safe_load(CONFIG), "bench config")
    engine = make_engine(url)
    upgrade(engine)
    prepare_database(engine, config)
    start = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    t0 = time.perf_counter()
    seed(engine, args.leads, args.due, start)
    seeded = time.perf_counter() - t0
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")

    sweep(engine, config, start)  # warm-up: connections, statement cache
    empty = []
    for _ in range(args.repeat):
        result = sweep(engine, config, start)
        assert result.fired == 0
        empty.append(result.seconds * 1000)
    busy = sweep(engine, config, start + timedelta(hours=1))
    assert busy.outcomes == {"escalated": args.due}, busy.outcomes

    print(
        f"database: {engine.dialect.name}, {args.leads:,} open leads, {2 * args.leads:,} pending timers "
        f"(seeded in {seeded:.0f}s)"
    )
    print(f"sweep with 0 due: median {statistics.median(empty):.2f} ms, max {max(empty):.2f} ms ({args.repeat} sweeps)")
    print(
        f"sweep with {args.due:,} due: {busy.seconds * 1000:.0f} ms in all, "
        f"{busy.seconds * 1000 / args.due:.2f} ms per firing"
    )


if __name__ == "__main__":
    main()
