"""Intake-to-DM latency and throughput of a running `leadbot serve`, with a fake Slack on loopback.

    python bench/intake_latency.py --existing 10000 --leads 1000
    python bench/intake_latency.py --existing 100000 --leads 1000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/intake_latency.py ...
    python bench/intake_latency.py --crm hubspot      # the same, writing back to a HubSpot stand-in
    python bench/intake_latency.py --crm hubspot --worker   # serve --no-sweep + a worker, as in the Procfile

It seeds the database with `--existing` leads (with their activity), starts `leadbot serve` as its
own process pointed at a fake Slack Web API in this process, then:
  1. posts `--leads` leads one at a time and measures, per lead, from the start of the POST to the
     moment the fake Slack receives the DM (chat.postMessage): intake-to-DM latency, all of it our
     own time (HTTP, validation, one transaction, relay wake-up, Slack call). The fake Slack's own
     time answering is reported apart.
  2. posts `--leads` more from `--clients` concurrent clients and reports leads per second, counted
     until every DM has reached the fake Slack.
"""

from __future__ import annotations

import argparse
import http.client
import json
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

from bot.devtools.demo_crm import start_demo_crm
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


def _crm_records(crm) -> int:
    """Records the CRM stand-in holds (the write-back runs beside intake; not waited for)."""
    if crm is None:
        return 0
    return len(crm.standin.records("contacts" if crm.system == "hubspot" else "Lead"))


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
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="leadbot-bench-"))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}"
    started = time.perf_counter()
    seed(database_url, args.existing)
    seeded_in = time.perf_counter() - started

    slack = FakeSlack(bot_token="xoxb-bench").start()
    config, crm_env, crm = yaml.safe_load(CONFIG), {}, None
    if args.crm:
        for member in config["team"]:
            member["email"] = f"{member['slack_id'].lower()}@acme.test"
        crm = start_demo_crm(args.crm, workdir, {m["email"]: m["name"] for m in config["team"]})
        config["crm"] = {"system": args.crm, "hubspot": {"portal_id": "4410000"}}  # links: one DM redraw a lead
        crm_env = {name.upper(): value for name, value in crm.settings.items()}
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
        # Phase 1: one at a time, latency.
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
        crm_written = _crm_records(crm)
    finally:
        for process in (server, worker):
            if process:
                process.terminate()
                process.wait(timeout=10)
        slack.stop()
        if crm:
            crm.standin.stop()

    kind = database_url.split(":")[0]
    print(f"database: {kind}, {args.existing:,} leads already stored (seeded in {seeded_in:.1f}s)")
    if args.worker:
        print("layout: leadbot serve --no-sweep + leadbot worker (the CRM sender runs in the worker)")
    if crm:
        print(f"CRM: {crm.label} stand-in; {crm_written} records written back by the end of the run")
    print(
        f"sequential, {args.leads} leads: intake-to-DM p50 {statistics.median(to_dm):.1f} ms, "
        f"p99 {percentile(to_dm, 99):.1f} ms, max {max(to_dm):.1f} ms"
    )
    print(
        f"    HTTP 201 p50 {statistics.median(to_201):.1f} ms, p99 {percentile(to_201, 99):.1f} ms; "
        f"fake Slack's own time per DM (apart) p50 {statistics.median(slack_ms):.2f} ms, "
        f"p99 {percentile(slack_ms, 99):.2f} ms"
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
