"""Intake-to-DM latency and throughput of a running `leadbot serve`, with a fake Slack on loopback.

    python bench/intake_latency.py --existing 10000 --leads 1000
    python bench/intake_latency.py --existing 100000 --leads 1000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/intake_latency.py ...
    python bench/intake_latency.py --crm hubspot      # the same, writing back to a HubSpot stand-in
    python bench/intake_latency.py --crm hubspot --worker   # serve --no-sweep + a worker, as in the Procfile
    python bench/intake_latency.py --crm hubspot --worker --pin   # ... with the web process on a core of its own

It seeds the database with `--existing` leads (with their activity), starts `leadbot serve` as its
own process pointed at a fake Slack Web API in this process, then:
  1. posts `--leads` leads one at a time and measures, per lead, from the start of the POST to the
     moment the fake Slack receives the DM (chat.postMessage): intake-to-DM latency, all of it our
     own time (HTTP, validation, one transaction, relay wake-up, Slack call). The fake Slack's own
     time answering is reported apart.
  2. posts `--leads` more from `--clients` concurrent clients and reports leads per second, counted
     until every DM has reached the fake Slack.

The CRM stand-in runs in a process of its own (a real CRM is another machine). `--pin` gives the web
process CPU 0 and everything else (clients, fake Slack, worker, CRM stand-in) CPU 1, as separate dynos
would: the same pinning for runs with and without a CRM, so they compare like for like.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from import_speed import empty_database

from bot.devtools.demo_crm import LABELS, start_demo_crm
from bot.devtools.standin.processes import free_port, wait_healthy
from bot.devtools.standin.web_api import FakeSlack
from store import leads as lead_store
from store.db import make_engine, write_session
from store.migrate import upgrade

CONFIG = """
timezone: America/New_York
channels: {escalations: C0ESCALATE, handoffs: C0HANDOFF}
team:
  - {slack_id: U0SDR1, name: Rep One, role: sdr}
  - {slack_id: U0SDR2, name: Rep Two, role: sdr}
  - {slack_id: U0SDR3, name: Rep Three, role: sdr}
  - {slack_id: U0SDR4, name: Rep Four, role: sdr}
  - {slack_id: U0MGR1, name: Manager, role: manager}
scoring: {icp: {industries: [Software], regions: [US]}}
routing: {fallback: U0MGR1}
"""
LEAD_ID = re.compile(r"Lead #(\d+) ")


def seed(database_url: str, existing: int) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    start = datetime.now(UTC) - timedelta(days=120)
    with write_session(engine) as session:
        first = lead_store.max_lead_id(session) + 1
    batch = 5000
    for offset in range(0, existing, batch):
        leads, activities = [], []
        for n in range(first + offset, first + min(offset + batch, existing)):
            at = start + timedelta(seconds=n * 7)
            touched = n % 5 != 0
            leads.append(
                {
                    "id": n,
                    "email": f"seed{n}@company{n % 997}.com",
                    "email_norm": f"seed{n}@company{n % 997}.com",
                    "domain": f"company{n % 997}.com",
                    "company": f"Company {n % 997}",
                    "lead_source": "Website",
                    "demo_request": n % 7 == 0,
                    "pages_visited": [],
                    "extra": {},
                    "score": 15,
                    "score_reasons": [],
                    "hot": False,
                    "stage": "attempting_contact" if touched else "new",
                    "lifecycle_stage": "lead",
                    "is_open": n % 3 == 0,
                    "owner_id": f"U0SDR{n % 4 + 1}",
                    "created_at": at,
                    "assigned_at": at,
                    "first_touch_due_at": at + timedelta(minutes=15),
                    "first_touch_at": at + timedelta(minutes=n % 40) if touched else None,
                    "last_activity_at": at,
                }
            )
            activities += [
                {"lead_id": n, "at": at, "actor": "intake", "kind": kind, "data": {}}
                for kind in ("created", "scored", "assigned")
            ]
            if touched:
                activities.append(
                    {
                        "lead_id": n,
                        "at": at + timedelta(minutes=n % 40),
                        "actor": f"U0SDR{n % 4 + 1}",
                        "kind": "touch",
                        "data": {"via": "call"},
                    }
                )
        with write_session(engine) as session:
            lead_store.bulk_insert(session, leads, activities)
    engine.dispose()


def cpu_seconds(process: subprocess.Popen | None) -> float:
    """User + system CPU a process has used so far (Linux /proc), to see where a change's cost lands."""
    if process is None:
        return 0.0
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def dms_sent(slack: FakeSlack) -> int:
    # Cheap on purpose: wait_for runs this under the fake Slack's lock after every call it answers.
    return len(slack.calls_to("chat.postMessage"))


def dm_arrivals(slack: FakeSlack) -> dict[int, tuple[float, float]]:
    """lead id → (when the fake Slack received its DM, the fake Slack's own time answering)."""
    arrivals = {}
    for call in slack.calls_to("chat.postMessage"):
        match = LEAD_ID.search(json.dumps(call.args.get("blocks")))
        if match:
            arrivals[int(match.group(1))] = (call.received_at, call.seconds)
    return arrivals


def _serve_crm(system: str, workdir: Path, members: dict[str, str], pipe) -> None:
    """Child process: the CRM stand-in; sends its settings, answers "count" with the records it holds."""
    crm = start_demo_crm(system, workdir, members)
    pipe.send(crm.settings)
    while pipe.recv() == "count":
        pipe.send(len(crm.standin.records("contacts" if system == "hubspot" else "Lead")))
    crm.standin.stop()


class CrmProcess:
    """The CRM stand-in in its own process, so its CPU is not counted in the benchmark process's."""

    def __init__(self, system: str, workdir: Path, members: dict[str, str], cpus: set[int] | None) -> None:
        self.system = system
        self.pipe, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(
            target=_serve_crm, args=(system, workdir, members, child), daemon=True
        )
        self.process.start()
        if cpus:
            os.sched_setaffinity(self.process.pid, cpus)
        self.settings = self.pipe.recv()

    def records(self) -> int:
        self.pipe.send("count")
        return self.pipe.recv()

    def stop(self) -> None:
        self.pipe.send("stop")
        self.process.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--existing", type=int, default=10_000, help="leads already in the database")
    parser.add_argument("--leads", type=int, default=1000, help="leads to post in each phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients in the throughput phase")
    parser.add_argument("--port", type=int, default=0, help="port for leadbot serve (0: pick one)")
    parser.add_argument("--crm", choices=["hubspot", "salesforce"], help="write back to this CRM's stand-in")
    parser.add_argument(
        "--worker", action="store_true", help="the Procfile layout: `serve --no-sweep` plus a `leadbot worker`"
    )
    parser.add_argument("--pin", action="store_true", help="web process on CPU 0, everything else on CPU 1")
    args = parser.parse_args()
    web_cpus, other_cpus = ({0}, {1}) if args.pin else (None, None)
    if other_cpus:
        os.sched_setaffinity(0, other_cpus)

    workdir = Path(tempfile.mkdtemp(prefix="leadbot-bench-"))
    # An empty database each run: leads left by an earlier run (with DMs in an earlier fake Slack) would make
    # this run's posts resubmissions whose thread replies that fake Slack never saw.
    database_url = empty_database(os.environ.get("DATABASE_URL"), workdir, "bench")
    started = time.perf_counter()
    seed(database_url, args.existing)
    seeded_in = time.perf_counter() - started

    config, crm_env, crm = yaml.safe_load(CONFIG), {}, None
    if args.crm:
        for member in config["team"]:
            member["email"] = f"{member['slack_id'].lower()}@acme.test"
        crm = CrmProcess(args.crm, workdir, {m["email"]: m["name"] for m in config["team"]}, other_cpus)
        config["crm"] = {"system": args.crm, "hubspot": {"portal_id": "4410000"}}  # links: one DM redraw a lead
        crm_env = {name.upper(): value for name, value in crm.settings.items()}
    slack = FakeSlack(bot_token="xoxb-bench").start()  # after the fork above: a child gets no copy of its threads
    (workdir / "leadbot.yml").write_text(yaml.safe_dump(config))
    token = secrets.token_urlsafe(16)
    port = args.port or free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": "bench",
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": database_url,
        "LEADBOT_INTAKE_TOKEN": token,
        "LEADBOT_CONFIG": str(workdir / "leadbot.yml"),
        "PORT": str(port),
        **crm_env,
    }
    serve = [sys.executable, "-m", "bot.runtime.cli", "serve", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        serve + (["--no-sweep"] if args.worker else []),
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = (
        subprocess.Popen([sys.executable, "-m", "bot.runtime.cli", "worker"], env=env, cwd=workdir,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if args.worker
        else None
    )  # fmt: skip
    if web_cpus:
        os.sched_setaffinity(server.pid, web_cpus)  # the worker inherited CPU 1 from this process
    url = f"http://127.0.0.1:{port}"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    try:
        wait_healthy(url, server)
        run = secrets.token_hex(3)

        def post_lead(i: int) -> tuple[int, float, float]:
            body = json.dumps(
                {
                    "email": f"bench{i}-{run}@acme{i % 50}.com",
                    "first_name": "Bench",
                    "company": "Acme",
                    "industry": "Software",
                    "country": "US",
                    "demo_request": i % 3 == 0,
                }
            )
            sent = time.perf_counter()
            connection = _connection(port)
            connection.request("POST", "/leads", body, headers)
            response = connection.getresponse()
            raw = response.read()
            answered = time.perf_counter()
            assert response.status == 201, raw
            return json.loads(raw)["id"], sent, answered

        post_lead(-1)  # warm-up: first request pays for imports and connections
        slack.wait_for(lambda: dms_sent(slack) >= 1, timeout=60)
        # and the processes' start-up work (the worker's first sweep and its first fold of the seeded leads'
        # report changes) is over: a running service is measured, not one starting.
        time.sleep(5)
        # Phase 1: one at a time, latency.
        cpu_before = cpu_seconds(server), cpu_seconds(worker)
        sequential = [post_lead(i) for i in range(args.leads)]
        slack.wait_for(lambda: dms_sent(slack) >= args.leads + 1, timeout=60)
        arrivals = dm_arrivals(slack)
        to_dm = [(arrivals[lead_id][0] - sent) * 1000 for lead_id, sent, _ in sequential]
        to_201 = [(answered - sent) * 1000 for _, sent, answered in sequential]
        slack_ms = [arrivals[lead_id][1] * 1000 for lead_id, _, _ in sequential]

        # Phase 2: concurrent clients, throughput until every DM is out.
        before = dms_sent(slack)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(post_lead, range(args.leads, 2 * args.leads)))
        accepted = time.perf_counter() - t0
        delivered_by_then = dms_sent(slack) - before
        slack.wait_for(lambda: dms_sent(slack) >= before + args.leads, timeout=120)
        delivered = time.perf_counter() - t0
        cpu_web, cpu_worker = cpu_seconds(server) - cpu_before[0], cpu_seconds(worker) - cpu_before[1]
        crm_written = crm.records() if crm else 0
    finally:
        for process in (server, worker):
            if process:
                process.terminate()
                process.wait(timeout=10)
        slack.stop()
        if crm:
            crm.stop()

    kind = database_url.split(":")[0]
    print(f"database: {kind}, {args.existing:,} leads already stored (seeded in {seeded_in:.1f}s)")
    if args.pin:
        print("pinned: leadbot serve on CPU 0; clients, fake Slack, worker and CRM stand-in on CPU 1")
    if args.worker:
        print("layout: leadbot serve --no-sweep + leadbot worker (the CRM sender runs in the worker)")
    if crm:
        print(
            f"CRM: {LABELS[crm.system]} stand-in (own process); "
            f"{crm_written} records written back by the end of the run"
        )
    print(
        f"sequential, {args.leads} leads: intake-to-DM p50 {statistics.median(to_dm):.1f} ms, "
        f"p99 {percentile(to_dm, 99):.1f} ms, max {max(to_dm):.1f} ms"
    )
    print(
        f"    HTTP 201 p50 {statistics.median(to_201):.1f} ms, p99 {percentile(to_201, 99):.1f} ms; "
        f"fake Slack's own time per DM (apart) p50 {statistics.median(slack_ms):.2f} ms, "
        f"p99 {percentile(slack_ms, 99):.2f} ms"
    )
    per_lead = 1000 / (2 * args.leads)
    print(
        f"CPU per lead (both phases): web process {cpu_web * per_lead:.1f} ms"
        + (f", worker {cpu_worker * per_lead:.1f} ms" if worker else "")
    )
    print(
        f"concurrent, {args.leads} leads from {args.clients} clients: {args.leads / accepted:.0f} leads/s accepted "
        f"(201), {args.leads / delivered:.0f} leads/s with every DM delivered "
        f"({delivered_by_then} of the DMs were out when the last 201 came back)"
    )


_local = threading.local()


def _connection(port: int) -> http.client.HTTPConnection:
    """One kept-alive connection per client thread, as a CRM sending webhooks in a row keeps one."""
    if getattr(_local, "connection", None) is None:
        _local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    return _local.connection


if __name__ == "__main__":
    main()
