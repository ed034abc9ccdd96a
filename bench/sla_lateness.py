"""How late SLA timers fire under a steady load: from each deadline to the Slack call it causes.

    python bench/sla_lateness.py --rate 20 --seconds 60 --sweep-every 5s

Runs the real Leadbot in this process (SQLite, the outbox relay, the APScheduler sweep on its
interval, the wall clock) against a fake Slack on loopback. Leads arrive at `--rate` per second for
`--seconds`; each has a 10-second first-touch SLA that nobody meets, so each breach fires once.
Lateness is the moment the fake Slack receives the breach message minus the deadline. Target: every
firing within one sweep interval plus 1 s of its deadline.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from bot.core.config import parse_config
from bot.core.durations import parse_duration
from bot.core.settings import Settings
from bot.devtools.standin.web_api import FakeSlack
from bot.intake.accept import accept_lead, parse_lead
from bot.runtime.app import build_leadbot
from store import leads as lead_store
from store.db import read_session

CONFIG = """
timezone: UTC
channels: {escalations: C0ESCALATE, handoffs: C0HANDOFF}
team:
  - {slack_id: U0SDR1, name: Rep One, role: sdr}
  - {slack_id: U0SDR2, name: Rep Two, role: sdr}
  - {slack_id: U0SDR3, name: Rep Three, role: sdr}
  - {slack_id: U0MGR1, name: Manager, role: manager}
sla: {first_touch: 10s, first_touch_hot: 10s, reminder_at: null}
routing: {fallback: U0MGR1}
"""
EMAIL = re.compile(r"late(\d+)@acme\.com")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=20, help="leads per second")
    parser.add_argument("--seconds", type=float, default=60, help="how long leads keep arriving")
    parser.add_argument("--sweep-every", default="5s", help="scheduler.sweep_every")
    args = parser.parse_args()

    data = yaml.safe_load(CONFIG)
    data["scheduler"] = {"sweep_every": args.sweep_every}
    config = parse_config(data, "bench config")
    slack = FakeSlack(bot_token="xoxb-bench").start()
    workdir = Path(tempfile.mkdtemp(prefix="leadbot-lateness-"))
    settings = Settings(
        slack_bot_token=slack.bot_token,
        slack_signing_secret="bench",
        slack_api_url=slack.base_url,
        database_url=f"sqlite:///{workdir / 'b.db'}",
        intake_token="bench",
    )
    leadbot = build_leadbot(settings, config)
    leadbot.start(sweep=True)
    total = int(args.rate * args.seconds)
    try:
        began = time.monotonic()
        for i in range(total):
            time.sleep(max(0.0, began + i / args.rate - time.monotonic()))
            accept_lead(leadbot.engine, config, leadbot.clock, parse_lead({"email": f"late{i}@acme.com"}))
            leadbot.relay.kick()

        def breaches() -> dict[int, float]:
            found = {}
            for call in slack.calls_to("chat.postMessage"):
                if "overdue" in call.args.get("text", "") and (m := EMAIL.search(call.args["text"])):
                    found[int(m.group(1))] = call.received_wall
            return found

        slack.wait_for(lambda: len(breaches()) >= total, timeout=120)
        arrived = breaches()
    finally:
        leadbot.stop()
        slack.stop()
    with read_session(leadbot.engine) as session:
        due = {}
        for lead_id in range(1, total + 1):
            lead = lead_store.get_lead(session, lead_id)
            due[int(EMAIL.search(lead.email).group(1))] = lead.first_touch_due_at.timestamp()
    lateness = sorted(arrived[n] - due[n] for n in range(total))
    p99 = lateness[int(0.99 * (len(lateness) - 1))]
    interval = parse_duration(args.sweep_every).total_seconds()
    print(
        f"{total} leads at {args.rate:g}/s for {args.seconds:g}s, sweep every {args.sweep_every}: "
        f"deadline to Slack call p50 {statistics.median(lateness):.2f} s, p99 {p99:.2f} s, "
        f"max {lateness[-1]:.2f} s (target: under {interval + 1:.0f} s); "
        f"{sum(1 for v in lateness if v > interval + 1)} over target, "
        f"{len(slack.calls_to('chat.postMessage'))} DMs and breach notices sent"
    )


if __name__ == "__main__":
    main()
