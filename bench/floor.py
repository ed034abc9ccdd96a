"""Leadbot's intake against the floor, side by side in one run: accepted/s, the 201's p50/p99, DMs out/s.

    python bench/floor.py --leads 1500
    python bench/floor.py --leads 1500 --layout procfile   # `serve --no-sweep` beside a `worker`
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/floor.py --leads 1500

The floor (bench/floor_app.py) is the least any intake must do on the same stack: waitress with 8 threads,
Flask, pydantic's email check, one INSERT committed, a 201, and a DM per lead from a background thread.
Both run as their own process against the same database and the same fake Slack (in this process), one after
the other, each loaded by `--clients` kept-alive clients posting `--leads` leads after a warm-up; the ratios
Leadbot / floor are printed last. `--rounds` alternates them to show the noise of a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from import_speed import empty_database
from intake_latency import CONFIG, _connection, dms_sent, percentile

from bot.devtools.standin.processes import free_port, wait_healthy
from bot.devtools.standin.web_api import FakeSlack

HERE = Path(__file__).resolve().parent


def start(kind: str, database: str, slack: FakeSlack, workdir: Path) -> tuple[list[subprocess.Popen], int, str]:
    """The floor, or Leadbot as `serve` alone ("leadbot") or as the Procfile runs it ("procfile": `serve
    --no-sweep` and a `worker`); the processes, the port and the intake token."""
    port, token = free_port(), secrets.token_urlsafe(16)
    env = {**os.environ, "DATABASE_URL": database, "SLACK_API_URL": slack.base_url, "PORT": str(port),
           "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": "bench", "LEADBOT_INTAKE_TOKEN": token,
           "LEADBOT_CONFIG": str(workdir / "leadbot.yml"), "PYTHONPATH": os.pathsep.join(sys.path)}  # fmt: skip
    leadbot = [sys.executable, "-m", "bot.runtime.cli"]
    commands = {
        "floor": [[sys.executable, str(HERE / "floor_app.py")]],
        "leadbot": [[*leadbot, "serve", "--host", "127.0.0.1"]],
        "procfile": [[*leadbot, "serve", "--host", "127.0.0.1", "--no-sweep"], [*leadbot, "worker"]],
    }[kind]
    processes = [
        subprocess.Popen(command, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for command in commands
    ]
    wait_healthy(f"http://127.0.0.1:{port}", processes[0])
    return processes, port, token


def load(port: int, token: str, slack: FakeSlack, leads: int, clients: int) -> dict:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    run = secrets.token_hex(3)

    def post(i: int) -> float:
        body = json.dumps({"email": f"lead{i}-{run}@acme{i % 50}.com", "first_name": "Bench", "company": "Acme",
                           "industry": "Software", "country": "US", "demo_request": i % 3 == 0})  # fmt: skip
        sent = time.perf_counter()
        connection = _connection(port)
        connection.request("POST", "/leads", body, headers)
        response = connection.getresponse()
        raw = response.read()
        assert response.status == 201, raw
        return (time.perf_counter() - sent) * 1000

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, range(-clients * 5, 0)))  # warm-up: imports, connections, caches
    slack.wait_for(lambda: dms_sent(slack) >= clients * 5, timeout=60)
    before = dms_sent(slack)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(post, range(leads)))
    accepted = time.perf_counter() - started
    slack.wait_for(lambda: dms_sent(slack) >= before + leads, timeout=300)
    delivered = time.perf_counter() - started
    return {"accepted_per_s": leads / accepted, "dms_per_s": leads / delivered,
            "p50_ms": statistics.median(answers), "p99_ms": percentile(answers, 99)}  # fmt: skip


def measure(kind: str, url: str | None, workdir: Path, leads: int, clients: int) -> dict:
    slack = FakeSlack(bot_token="xoxb-bench").start()
    # Each load's clients are new threads, so new kept-alive connections to the new server.
    processes, port, token = start(kind, empty_database(url, workdir, f"{kind}-{secrets.token_hex(2)}"), slack, workdir)
    try:
        return load(port, token, slack, leads, clients)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        slack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--layout", choices=["serve", "procfile"], default="serve",
        help="Leadbot as `serve` alone, or as the Procfile runs it: `serve --no-sweep` beside a `worker`",
    )  # fmt: skip
    args = parser.parse_args()
    ours = "leadbot" if args.layout == "serve" else "procfile"
    url = os.environ.get("DATABASE_URL")
    workdir = Path(tempfile.mkdtemp(prefix="leadbot-floor-"))
    (workdir / "leadbot.yml").write_text(CONFIG)
    print(f"{'PostgreSQL' if url else 'SQLite'}, {args.leads} leads from {args.clients} kept-alive clients")
    for round_number in range(1, args.rounds + 1):
        figures = {kind: measure(kind, url, workdir, args.leads, args.clients) for kind in ("floor", ours)}
        for kind, f in figures.items():
            print(f"  round {round_number} {kind:8} accepted {f['accepted_per_s']:6.0f}/s · 201 p50 "
                  f"{f['p50_ms']:5.1f} ms p99 {f['p99_ms']:6.1f} ms · all DMs out {f['dms_per_s']:6.0f}/s")  # fmt: skip
        floor, mine = figures["floor"], figures[ours]
        print(f"  round {round_number} ratio    accepted {mine['accepted_per_s'] / floor['accepted_per_s']:.2f}× · "
              f"DMs out {mine['dms_per_s'] / floor['dms_per_s']:.2f}× · Leadbot DMs/accepted "
              f"{mine['dms_per_s'] / mine['accepted_per_s']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
