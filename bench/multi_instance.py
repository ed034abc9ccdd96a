"""Several `leadbot serve` processes and a `leadbot worker` on one PostgreSQL, under a burst of leads.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/multi python bench/multi_instance.py --leads 5000
    DATABASE_URL=... python bench/multi_instance.py --leads 5000 --crash

Starts `--instances` `leadbot serve --no-sweep` processes and one `leadbot worker` (real processes on
loopback) against a fake Slack Web API in this process, with short SLAs (first touch 30 s, hot 20 s,
escalation after 90 s) so every timer comes due during the run. `--clients` threads post `--leads` new
leads spread over the instances; a POST that gets no answer is sent again to the next instance (a
form retries), and a retried lead that was already stored answers 200, not a second lead.

With `--crash`, when 40% of the leads are in, one serve process and the worker are killed with SIGKILL
and started again two seconds later.

Then it waits for every alert, reminder, breach notice and escalation, and checks from the database and
from what the fake Slack received: each accepted lead stored once and assigned once, each alert sent
once, the rotation even, and each SLA timer fired once. It prints the figures and each check.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bot.devtools.standin.processes import free_port, wait_healthy
from bot.devtools.standin.web_api import FakeSlack
from store.db import make_engine

CONFIG = """
timezone: UTC
channels: {escalations: C0ESCALATE, handoffs: C0HANDOFF}
team:
  - {slack_id: U0SDR1, name: Rep One, role: sdr}
  - {slack_id: U0SDR2, name: Rep Two, role: sdr}
  - {slack_id: U0SDR3, name: Rep Three, role: sdr}
  - {slack_id: U0SDR4, name: Rep Four, role: sdr}
  - {slack_id: U0SDR5, name: Rep Five, role: sdr}
  - {slack_id: U0MGR1, name: Manager, role: manager}
sla: {first_touch: %(first_touch)s, first_touch_hot: %(first_touch_hot)s, escalate_after: %(escalate_after)s,
      reassign_after: 1d}
scheduler: {sweep_every: %(sweep_every)s}
routing: {fallback: U0MGR1}
"""
SDRS = [f"U0SDR{n}" for n in range(1, 6)]
LEAD_ID = re.compile(r"Lead #(\d+) ")


class Fleet:
    """The Leadbot processes: started, killed and restarted like a platform would."""

    def __init__(self, env: dict, workdir: Path, instances: int):
        self.env, self.workdir = env, workdir
        self.ports = [free_port() for _ in range(instances)]
        self.serve: list[subprocess.Popen] = [self._start_serve(port) for port in self.ports]
        self.worker = self._start(["worker"], {})
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        for url, process in zip(self.urls, self.serve, strict=True):
            wait_healthy(url, process)

    def _start(self, args: list[str], extra_env: dict) -> subprocess.Popen:
        log = open(self.workdir / f"{args[0]}-{len(list(self.workdir.glob('*.log')))}.log", "w")  # noqa: SIM115
        return subprocess.Popen(
            [sys.executable, "-m", "bot.runtime.cli", *args],
            env={**self.env, **extra_env},
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def _start_serve(self, port: int) -> subprocess.Popen:
        return self._start(["serve", "--host", "127.0.0.1", "--no-sweep"], {"PORT": str(port)})

    def crash_and_restart(self) -> None:
        """SIGKILL the first serve process and the worker mid-load, then start them again."""
        for process in (self.serve[0], self.worker):
            process.send_signal(signal.SIGKILL)
            process.wait()
        time.sleep(2)
        self.serve[0] = self._start_serve(self.ports[0])
        self.worker = self._start(["worker"], {})
        wait_healthy(self.urls[0], self.serve[0])

    def stop(self) -> None:
        for process in [*self.serve, self.worker]:
            process.terminate()
        for process in [*self.serve, self.worker]:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


BENCH_SLA = {"first_touch": "30s", "first_touch_hot": "20s", "escalate_after": "90s", "sweep_every": "2s"}


@dataclass
class LoadReport:
    leads: int
    accepted_in: float
    alerts_in: float
    latencies_ms: list[float]
    retried: Counter
    checks: dict[str, bool]
    summary: str
    workdir: Path


def run_load(
    database_url: str,
    leads: int,
    instances: int = 3,
    clients: int = 16,
    crash: bool = False,
    sla: dict[str, str] = BENCH_SLA,
    fresh_schema: bool = True,
) -> LoadReport:
    """Start the fleet, post the leads, wait for every alert and SLA action, and check them."""
    engine = make_engine(database_url)
    if fresh_schema:
        with engine.begin() as connection:  # a clean schema: the checks count everything in it
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    workdir = Path(tempfile.mkdtemp(prefix="leadbot-multi-"))
    (workdir / "leadbot.yml").write_text(CONFIG % sla)
    slack = FakeSlack(bot_token="xoxb-bench").start()
    token = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": "bench",
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": database_url,
        "LEADBOT_INTAKE_TOKEN": token,
        "LEADBOT_CONFIG": str(workdir / "leadbot.yml"),
    }
    subprocess.run([sys.executable, "-m", "bot.runtime.cli", "migrate"], env=env, cwd=workdir, check=True)
    fleet = Fleet(env, workdir, instances)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    run = secrets.token_hex(3)
    next_instance = itertools.count()
    answered: dict[int, tuple[int, int]] = {}  # lead number → (status, lead id)
    latencies: list[float] = []
    retried = Counter()
    crashed = threading.Event()
    lock = threading.Lock()

    def post_lead(n: int) -> None:
        # A company each: the existing-owner match would otherwise (rightly) skip the rotation.
        body = json.dumps({"email": f"lead{n}@co{n}-{run}.com", "demo_request": n % 4 == 0})
        first = next(next_instance)
        for attempt in range(30):  # a form retrying: the next instance each time, for up to about 6 s
            url = fleet.urls[(first + attempt) % len(fleet.urls)]
            host, port = url.removeprefix("http://").split(":")
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                connection.request("POST", "/leads", body, headers)
                response = connection.getresponse()
                raw = response.read()
                connection.close()
            except OSError:
                with lock:
                    retried["no answer"] += 1
                time.sleep(0.2)
                continue
            if response.status >= 500:
                with lock:
                    retried[f"HTTP {response.status}"] += 1
                time.sleep(0.2)
                continue
            with lock:
                answered[n] = (response.status, json.loads(raw)["id"])
                latencies.append((time.perf_counter() - started) * 1000)
            return
        raise RuntimeError(f"lead {n} got no answer in 30 tries")

    def post_and_maybe_crash(n: int) -> None:
        post_lead(n)
        if crash and n == int(leads * 0.4) and not crashed.is_set():
            crashed.set()
            threading.Thread(target=fleet.crash_and_restart, daemon=True).start()

    try:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(post_and_maybe_crash, range(leads)))
        accepted_in = time.perf_counter() - t0
        # Every lead: an alert, then (nobody touches them) a reminder, a breach notice and an escalation.
        _wait(lambda: _alerts(slack) >= leads, 300, "every alert")
        alerts_in = time.perf_counter() - t0
        _wait(lambda: _escalations(slack) >= leads, 600, "every escalation")
        _wait(lambda: _unsent(engine) == 0, 240, "the outbox to drain")
        time.sleep(3)  # anything sent twice would arrive now
        checks, summary = _check(engine, slack, answered, leads)
    finally:
        fleet.stop()
        slack.stop()
        engine.dispose()
    return LoadReport(leads, accepted_in, alerts_in, latencies, retried, checks, summary, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--crash", action="store_true", help="SIGKILL a serve process and the worker mid-load")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql")):
        raise SystemExit("several instances share one PostgreSQL: set DATABASE_URL=postgresql://… (SQLite is one host)")
    report = run_load(database_url, args.leads, args.instances, args.clients, args.crash)
    latencies = sorted(report.latencies_ms)
    print(f"PostgreSQL, {args.instances} x leadbot serve + 1 worker, {args.clients} clients, {args.leads:,} leads")
    if args.crash:
        print("crash: SIGKILL of one serve process and the worker at 40% of the leads, restarted 2 s later")
    print(
        f"accepted: {args.leads / report.accepted_in:.0f} leads/s ({report.accepted_in:.1f} s); every alert out "
        f"after {report.alerts_in:.1f} s; answer p50 {statistics.median(latencies):.0f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1]:.0f} ms"
    )
    print(f"posts sent again after no answer or a 5xx: {sum(report.retried.values())} {dict(report.retried)}")
    print(report.summary)
    for name, ok in report.checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    print(f"logs: {report.workdir}")
    sys.exit(0 if all(report.checks.values()) else 1)


# Due and not sent (App Home refreshes wait 30 s on purpose; they are not late until then). Times are naive UTC.
UNSENT = (
    "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND NOT failed AND next_attempt_at <= now() AT TIME ZONE 'utc'"
)


def _unsent(engine) -> int:
    with engine.connect() as c:
        return c.execute(text(UNSENT)).scalar()


def _alerts(slack: FakeSlack) -> int:
    return sum(1 for c in slack.calls_to("chat.postMessage") if c.args.get("channel", "").startswith("U0SDR"))


def _escalations(slack: FakeSlack) -> int:
    return sum(1 for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == "C0ESCALATE")


def _check(engine, slack: FakeSlack, answered: dict, leads: int) -> tuple[dict[str, bool], str]:
    with engine.connect() as c:
        stored = c.execute(text("SELECT count(*), count(DISTINCT email_norm) FROM lead")).one()
        assigned = Counter(
            n for (n,) in c.execute(text("SELECT count(*) FROM activity WHERE kind = 'assigned' GROUP BY lead_id"))
        )
        owners = Counter(owner for (owner,) in c.execute(text("SELECT owner_id FROM lead")))
        fired = dict(c.execute(text("SELECT kind, count(*) FROM timer WHERE state = 'fired' GROUP BY kind")).all())
        per_kind = c.execute(
            text(
                "SELECT max(n) FROM (SELECT count(*) AS n FROM activity WHERE kind IN ('reminded', 'sla_breached', "
                "'escalated') GROUP BY lead_id, kind) AS t"
            )  # fmt: skip
        ).scalar()
        unsent = c.execute(text(UNSENT)).scalar()
    calls = slack.calls_to("chat.postMessage")
    alert_ids = Counter(
        int(m.group(1))
        for call in calls
        if call.args.get("channel", "").startswith("U0SDR") and not call.args.get("thread_ts")
        and (m := LEAD_ID.search(json.dumps(call.args.get("blocks"))))
    )  # fmt: skip
    escalation_ids = Counter(
        int(m.group(1))
        for call in calls
        if call.args.get("channel") == "C0ESCALATE" and (m := LEAD_ID.search(json.dumps(call.args.get("blocks"))))
    )
    created = {lead_id for status, lead_id in answered.values() if status == 201}
    twice = [lead_id for lead_id, n in alert_ids.items() if n > 1]
    summary = (
        f"stored {stored[0]:,} leads ({stored[1]:,} addresses); rotation {dict(sorted(owners.items()))}; "
        f"timers fired {fired}; alerts sent {sum(alert_ids.values()):,} for {len(alert_ids):,} leads; "
        f"escalations {sum(escalation_ids.values()):,} for {len(escalation_ids):,} leads; outbox unsent {unsent}"
        + (f"; alerts sent twice: {len(twice)} (leads {sorted(twice)[:10]})" if twice else "")
    )
    checks = {
        "every lead that got a 2xx is stored, once": len(answered) == leads and stored[0] == stored[1] == leads
        and len(created | {i for _, i in answered.values()}) == leads,
        "every lead assigned once": assigned == Counter({1: leads}),
        "rotation even (round robin over 5 SDRs, ±1)": max(owners[s] for s in SDRS) - min(owners[s] for s in SDRS) <= 1,
        "every alert sent once": set(alert_ids) == created and not twice,
        "every SLA timer fired once (reminder, breach, escalation per lead)": per_kind == 1
        and fired.get("first_touch_reminder") == leads and fired.get("first_touch_due") == leads
        and fired.get("escalate") == leads,
        "every escalation posted once": set(escalation_ids) == created and max(escalation_ids.values()) == 1,
        "nothing due left unsent": unsent == 0,
    }  # fmt: skip
    return checks, summary


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


if __name__ == "__main__":
    main()
