"""Where one intake's time goes: statements (count and time each), and Python time by library, then the relay's.

    python bench/intake_profile.py --leads 500
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/intake_profile.py --leads 500

In one process, no HTTP: `--leads` leads through bot.intake.accept.accept_lead (validation, dedupe, scoring,
routing, clocks, activity log, outbox), then the outbox relay sending their DMs to a fake Slack on loopback.
For each phase: SQL statements per lead by kind with their time, and the profile's own time grouped by where
the code lives (our packages, SQLAlchemy's ORM and core, the database driver, pydantic, slack_sdk, ...).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml
from intake_latency import CONFIG
from sqlalchemy import event, text

from bot.core.clock import SystemClock
from bot.core.config import parse_config
from bot.devtools.standin.web_api import FakeSlack
from bot.intake.accept import accept_lead, parse_lead
from bot.runtime.app import make_relay, prepare_database
from bot.slack.client import make_web_client
from store.db import make_engine
from store.migrate import upgrade

# Where a function's file lives → the group its own time is counted in (first match wins).
GROUPS = [
    ("our code: bot/", r"/bot/"),
    ("our code: store/", r"/store/"),
    ("SQLAlchemy ORM", r"sqlalchemy/orm/"),
    ("SQLAlchemy core and engine", r"sqlalchemy/"),
    ("sqlmodel", r"sqlmodel/"),
    ("database driver", r"psycopg|sqlite3|_sqlite|pg_query"),
    ("pydantic", r"pydantic|email_validator|idna"),
    ("slack_sdk and HTTP to Slack", r"slack_sdk/|urllib|http/client|socket|ssl|selectors"),
    ("JSON", r"json/"),
    ("threads, locks, waits", r"threading|queue"),
]


def statement_kind(statement: str) -> str:
    words = re.sub(r"\s+", " ", statement).strip().split(" ")
    verb = words[0].upper()
    table = next((w for w in words[1:6] if w.lower() not in {"into", "from", "or", "ignore"}), "")
    if verb == "SELECT":
        match = re.search(r"\bFROM (\w+)", statement)
        table = match.group(1) if match else ""
    return f"{verb} {table}".strip()


class StatementTimes:
    def __init__(self, engine):
        self.count, self.seconds = Counter(), defaultdict(float)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, executemany):
        conn.info["started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany):
        kind = statement_kind(statement)
        self.count[kind] += 1
        self.seconds[kind] += time.perf_counter() - conn.info.pop("started", time.perf_counter())

    def reset(self):
        self.count.clear()
        self.seconds.clear()

    def report(self, leads: int) -> list[str]:
        total_count, total_time = sum(self.count.values()), sum(self.seconds.values())
        lines = [f"  statements: {total_count / leads:.1f} per lead, {total_time * 1000 / leads:.2f} ms per lead"]
        for kind, n in self.count.most_common(12):
            lines.append(f"    {n / leads:5.2f} × {kind:<28} {self.seconds[kind] * 1000 / leads:6.3f} ms per lead")
        return lines


def grouped_profile(profile: cProfile.Profile, leads: int) -> list[str]:
    stats = pstats.Stats(profile)
    own: Counter = Counter()
    other: Counter = Counter()
    for (filename, _, function), (_, _, tottime, _, _) in stats.stats.items():
        where = f"{filename}:{function}"  # C functions have no file: "~:<method 'execute' of 'sqlite3.Cursor'>"
        group = next((name for name, pattern in GROUPS if re.search(pattern, where)), "other")
        own[group] += tottime
        if group == "other":
            other[f"{Path(filename).name}:{function}"] += tottime
    total = sum(own.values())
    lines = [f"  Python time (profiled, so inflated): {total * 1000 / leads:.2f} ms per lead"]
    for group, seconds in own.most_common():
        lines.append(f"    {100 * seconds / total:5.1f}%  {group}")
    named = ", ".join(f"{name} {100 * seconds / total:.1f}%" for name, seconds in other.most_common(6))
    lines.append(f"    other, the largest: {named}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=500)
    parser.add_argument("--dump", metavar="DIR", help="also write each phase's profile there (intake.prof, relay.prof)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(tempfile.mkdtemp()) / 'profile.db'}"
    engine = make_engine(url)
    if url.startswith("postgresql"):
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade(engine)
    config = parse_config(yaml.safe_load(CONFIG), "bench config")
    prepare_database(engine, config)
    clock, slack = SystemClock(), FakeSlack(bot_token="xoxb-bench").start()
    leads = [
        parse_lead({"email": f"lead{i}@acme{i % 50}.com", "first_name": "Bench", "company": "Acme",
                    "industry": "Software", "country": "US", "demo_request": i % 3 == 0})
        for i in range(-20, args.leads)
    ]  # fmt: skip
    for lead in leads[:20]:
        accept_lead(engine, config, clock, lead)  # warm-up: caches, compiled statements
    times = StatementTimes(engine)
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for lead in leads[20:]:
        accept_lead(engine, config, clock, lead)
    profile.disable()
    wall = time.perf_counter() - started
    if args.dump:
        profile.dump_stats(Path(args.dump) / "intake.prof")
    print(f"{engine.dialect.name}: {args.leads} intakes in one thread, {wall * 1000 / args.leads:.2f} ms per lead")
    print("\n".join(times.report(args.leads) + grouped_profile(profile, args.leads)))

    relay = make_relay(engine, make_web_client(slack.bot_token, slack.base_url), clock, config)
    times.reset()
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    while relay.deliver_due():
        pass
    profile.disable()
    wall = time.perf_counter() - started
    if args.dump:
        profile.dump_stats(Path(args.dump) / "relay.prof")
    sent = len(slack.calls_to("chat.postMessage"))
    print(f"relay: {sent} DMs (and App Home refreshes) in {wall * 1000 / args.leads:.2f} ms per lead")
    print("\n".join(times.report(args.leads) + grouped_profile(profile, args.leads)))
    slack.stop()


if __name__ == "__main__":
    main()
