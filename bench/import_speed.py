"""Importing and backfilling big CSV files: seconds, rows/s and peak memory, on SQLite and PostgreSQL.

    python bench/import_speed.py --rows 100000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/import_speed.py --rows 100000

Writes a HubSpot-shaped contact export of `--rows` rows (with the history columns a backfill reads), then runs
the real `leadbot import` (new leads: routed, clocked, alerts queued) and `leadbot import --backfill`, each in
its own process on an empty database, and prints wall time, rows/s and the process's peak RSS. Side by side in
the same run, `--before` rows go through the import both ways: in batches, and one by one through the live
intake (the code before batching), so the speed-up is a ratio measured on the same machine at the same time.
Each run's figures include the process start-up (about 1.3 s) and the pass that counts rows for the bar.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from store.db import make_engine
from store.migrate import upgrade

CONFIG = """
timezone: America/New_York
channels: {escalations: C0ESCALATE, handoffs: C0HANDOFF}
team:
  - {slack_id: U0SDR1, name: Rep One, role: sdr, email: one@ours.io}
  - {slack_id: U0SDR2, name: Rep Two, role: sdr, email: two@ours.io}
  - {slack_id: U0SDR3, name: Rep Three, role: sdr}
  - {slack_id: U0MGR1, name: Manager, role: manager}
routing: {fallback: U0MGR1}
"""
HEADER = (
    "Record ID,First Name,Last Name,Email,Phone Number,Company Name,Job Title,Country/Region,Number of Employees,"
    "Original Source,Lifecycle Stage,Lead Status,Contact owner,Create Date,First outreach date\n"
)
STATUSES = ["New", "Attempted to contact", "Connected", "Open Deal", "Unqualified"]
OWNERS = ["Rep One", "Rep Two", "two@ours.io", "Rep Three"]
SOURCES = ["Organic Search", "Paid Search", "Direct Traffic", "Social Media", "Referrals", "Offline Sources"]
COUNTRIES = ["United States", "Germany", "Brazil", "Japan", "France", "Canada"]

# Runs one `leadbot` command in a child process and prints its own peak RSS (KiB) on the last line of stderr.
CHILD = (
    "import resource, sys; from bot.runtime.cli import main; code = main(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(code)"
)
# The import as it was before batches: every row through the live intake alone, a transaction each.
ONE_BY_ONE = (
    "import os, resource, sys; from bot.core.clock import SystemClock; from bot.core.config import load_config; "
    "from bot.intake.csv_leads import LeadFile; from bot.intake.importer import import_leads, summary; "
    "from bot.runtime.app import prepare_database; from store.db import make_engine; "
    "engine = make_engine(os.environ['DATABASE_URL']); config = load_config(os.environ['LEADBOT_CONFIG']); "
    "prepare_database(engine, config); report = import_leads(engine, config, SystemClock(), "
    "LeadFile(sys.argv[2]), alerts=True, one_by_one=True, batch_size=1); print(summary(report)); "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
)


def write_export(path: Path, rows: int) -> None:
    start = datetime.now(UTC) - timedelta(days=120)
    with open(path, "w", newline="") as handle:
        handle.write(HEADER)
        for n in range(rows):
            created = start + timedelta(seconds=n * 100)
            touched = (created + timedelta(minutes=n % 90)).strftime("%Y-%m-%d %H:%M") if n % 3 else ""
            handle.write(
                f"{900000 + n},First{n},Last{n},person{n}@company{n % 7000}.com,+1 555 {n:07d},Company {n % 7000},"
                f"Head of Operations,{COUNTRIES[n % 6]},{(n % 9) * 120 + 5},{SOURCES[n % 6]},Lead,"
                f"{STATUSES[n % 5]},{OWNERS[n % 4]},{created:%Y-%m-%d %H:%M},{touched}\n"
            )


def empty_database(url: str | None, folder: Path, name: str) -> str:
    if url is None:
        return f"sqlite:///{folder / name}.db"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)  # as `leadbot migrate` does; SQLite files are set up by the command itself
    engine.dispose()
    return url


def run_import(folder: Path, database: str, csv_path: Path, *flags: str, child: str = CHILD) -> dict:
    env = os.environ | {"DATABASE_URL": database, "LEADBOT_CONFIG": str(folder / "leadbot.yml")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", child, "import", str(csv_path), *flags], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"leadbot import {' '.join(flags)} failed:\n{done.stdout}\n{done.stderr}")
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return {"seconds": round(seconds, 1), "summary": done.stdout.splitlines()[0], "peak_rss_mib": peak_kib // 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--before", type=int, default=5_000, help="rows imported both ways, for the ratio")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    folder = Path(tempfile.mkdtemp(prefix="leadbot-import-"))
    (folder / "leadbot.yml").write_text(CONFIG)
    export, sample = folder / "contacts.csv", folder / "sample.csv"
    write_export(export, args.rows)
    write_export(sample, args.before)
    print(f"{'PostgreSQL' if url else 'SQLite'}, {args.rows:,} rows ({export.stat().st_size / 1e6:.0f} MB)")
    figures = {}
    for label, path, flags, child in [
        ("import", export, [], CHILD),
        ("backfill", export, ["--backfill"], CHILD),
        ("import in batches (sample)", sample, [], CHILD),
        ("import one by one, as before (sample)", sample, [], ONE_BY_ONE),
    ]:
        database = empty_database(url, folder, f"run{len(figures)}")
        result = run_import(folder, database, path, *flags, child=child)
        rows = args.rows if path == export else args.before
        result["rows_per_s"] = round(rows / result["seconds"])
        figures[label] = result
        print(f"  {label}: {result['seconds']} s, {result['rows_per_s']:,} rows/s, peak {result['peak_rss_mib']} MiB")
        print(f"    {result['summary']}")
    before = figures["import one by one, as before (sample)"]["rows_per_s"]
    after = figures["import in batches (sample)"]["rows_per_s"]
    print(f"  batches against one by one, same rows, same run: {after / before:.1f}x")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
