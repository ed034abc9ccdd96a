"""The SLA sweep: claim due timers one at a time and act on each in its own transaction.

APScheduler only ticks `sweep` every `scheduler.sweep_every`; the deadlines live in the database,
so nothing is lost when a process stops, and timers that came due meanwhile fire on the next tick.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.reports.leadstats import fold_rollup
from bot.reports.metrics import Metrics
from bot.sla.clocks import fire_timer
from bot.slack.events import forget_old_deliveries
from store import timers as timer_store
from store.db import write_session

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    outcomes: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def fired(self) -> int:
        return sum(self.outcomes.values())


def sweep(engine: Engine, config: Config, now: datetime, limit: int | None = None) -> SweepResult:
    """Fire every timer due at `now` (or the first `limit`). Safe to run in several processes at once."""
    result, started = SweepResult(), time.perf_counter()
    while limit is None or result.fired < limit:
        with write_session(engine) as session:
            timer = timer_store.claim_next_due(session, now)
            if timer is None:
                break
            outcome = fire_timer(session, timer, config, now)
        result.outcomes[outcome] += 1
        log.info("sla timer fired", extra={"lead_id": timer.lead_id, "kind": timer.kind, "outcome": outcome})
    result.seconds = time.perf_counter() - started
    return result


class SweepScheduler:
    """Ticks the sweep (and wakes the outbox relay after firings), then folds the report rollup, on an interval."""

    def __init__(
        self,
        engine: Engine,
        config: Config,
        clock: Clock,
        after_firing: Callable[[], None] | None = None,
        blocking: bool = False,
        metrics: Metrics | None = None,
    ):
        self.engine, self.config, self.clock, self.after_firing = engine, config, clock, after_firing
        self.metrics = metrics
        self.ticks = 0
        self.last_result = SweepResult()
        scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
        # coalesce: ticks missed while busy collapse into one; the sweep catches up on everything due anyway.
        self.scheduler = scheduler_class(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=config.scheduler.sweep_every.total_seconds(),
            id="sla-sweep",
            next_run_time=datetime.now().astimezone(),
        )

    def tick(self) -> SweepResult:
        try:
            result = sweep(self.engine, self.config, self.clock.now())
        except Exception:  # a database hiccup must not kill the scheduler; the next tick retries
            log.exception("SLA sweep failed")
            return SweepResult()
        if self.metrics:
            self.metrics.count_sweep(result.outcomes, result.seconds)
        if result.fired and self.after_firing:
            self.after_firing()
        try:
            fold_rollup(self.engine)  # off the request path, so /leadstats adds up days instead of leads
            forget_old_deliveries(self.engine, self.clock)
        except Exception:
            log.exception("housekeeping after the sweep failed")
        self.last_result, self.ticks = result, self.ticks + 1
        return result

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
