"""The worker's clockwork: the SLA sweep, the report rollup's fold and the clean-up, each its own job.

APScheduler (3.x) only ticks them; nothing durable lives in it, so a restart loses nothing. Each job is
safe with several workers: the sweep claims timers under locks, the fold takes turns on an advisory lock,
and the clean-up deletes what is old whoever gets there first.
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.reports.leadstats import fold_rollup
from bot.reports.metrics import Metrics
from bot.sla.sweep import SweepResult, sweep
from bot.slack.events import forget_old_deliveries

log = logging.getLogger(__name__)


class BackgroundJobs:
    def __init__(
        self, engine: Engine, config: Config, clock: Clock, *, blocking: bool = False, metrics: Metrics | None = None
    ):
        self.engine, self.config, self.clock, self.metrics = engine, config, clock, metrics
        self.sweeps = 0
        self.last_sweep = SweepResult()
        scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
        # coalesce: ticks missed while busy collapse into one; each job catches up on everything due anyway.
        self.scheduler = scheduler_class(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        every = config.scheduler
        self._every(self.run_sweep, "sla-sweep", every.sweep_every.total_seconds())
        self._every(self.fold_rollup, "rollup-fold", every.fold_every.total_seconds())
        self._every(self.forget_deliveries, "forget-deliveries", every.cleanup_every.total_seconds())

    def _every(self, job, name: str, seconds: float) -> None:
        self.scheduler.add_job(job, "interval", seconds=seconds, id=name, next_run_time=datetime.now().astimezone())

    def run_sweep(self) -> SweepResult:
        try:
            result = sweep(self.engine, self.config, self.clock.now())
        except Exception:  # a database hiccup must not kill the scheduler; the next tick retries
            log.exception("SLA sweep failed")
            return SweepResult()
        if self.metrics:
            self.metrics.count_sweep(result.outcomes, result.seconds)
        self.last_sweep, self.sweeps = result, self.sweeps + 1
        return result

    def fold_rollup(self) -> int:
        """Off the request path, so /leadstats adds up days instead of leads."""
        try:
            return fold_rollup(self.engine)
        except Exception:
            log.exception("folding the report rollup failed")
            return 0

    def forget_deliveries(self) -> int:
        try:
            return forget_old_deliveries(self.engine, self.clock)
        except Exception:
            log.exception("forgetting old Slack event deliveries failed")
            return 0

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
