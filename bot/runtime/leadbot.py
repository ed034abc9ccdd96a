"""A running Leadbot: its config, store, clock, Slack client, Bolt app, web app, relay and background jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.settings import Settings
from bot.crm.records import CrmConnector
from bot.delivery.queue import CommitWatcher
from bot.delivery.relay import OutboxRelay
from bot.intake.together import GroupIntake
from bot.reports.metrics import Metrics
from bot.runtime.scheduler import BackgroundJobs

# A web process beside workers sends a message itself only once it has waited this long: the workers hear of it at
# once (store.wakeups) and send it, and the web process's CPU goes to intake; this is for workers down or behind.
WORKERS_FIRST = timedelta(seconds=3)


@dataclass
class Leadbot:
    settings: Settings
    config: Config
    engine: Engine
    clock: Clock
    client: WebClient
    relay: OutboxRelay
    metrics: Metrics
    bolt: App = field(init=False)
    web: Flask = field(init=False)
    jobs: BackgroundJobs | None = None
    crm_relay: OutboxRelay | None = None  # writes to the CRM, apart from Slack's so neither waits on the other
    crm: CrmConnector | None = None  # reads from the CRM for its webhooks (what an activity made there is)
    intake: GroupIntake = field(init=False)
    watcher: CommitWatcher = field(init=False)

    def __post_init__(self) -> None:
        self.watcher = CommitWatcher(self.engine)
        # Leads posted at the same moment share one transaction (always under the config in force).
        self.intake = GroupIntake(
            self.engine, lambda: self.config, self.clock, on_group=self.metrics.intake_group_size.observe
        )

    def start(self, *, sweep: bool = False, background: bool = True) -> None:
        """Start the outbox relay and with `sweep` the background jobs (the SLA sweep, the rollup, the clean-up).

        Without `background` (a `serve --no-sweep` beside workers) this process leaves CRM writes, App Home
        refreshes and link redraws to the workers, and messages too unless they have waited WORKERS_FIRST: its
        CPU goes to intake (a relay costs about as much per DM as intake per lead). The workers' relays hear of
        every commit at once (CommitWatcher)."""
        self.relay.take_background = background
        if background:
            self.watcher.start()
        else:
            self.relay.leaves_fresh_for = WORKERS_FIRST
        self.relay.start()
        if self.crm_relay and background:
            self.crm_relay.start()
        if sweep:
            self.jobs = BackgroundJobs(self.engine, self.config, self.clock, metrics=self.metrics)
            self.jobs.start()

    def stop(self) -> None:
        self.watcher.stop()
        if self.jobs:
            self.jobs.stop()
        self.relay.stop()
        if self.crm_relay:
            self.crm_relay.stop()  # (a relay never started stops at once)
