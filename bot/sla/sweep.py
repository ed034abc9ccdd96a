"""The SLA sweep: claim due timers one at a time and act on each in its own transaction.

The scheduler (bot.runtime.scheduler) only ticks `sweep` every `scheduler.sweep_every`; the deadlines
live in the database, so nothing is lost when a process stops, and timers that came due meanwhile fire
on the next tick. The sweep does nothing else.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.core.config import Config
from bot.sla.firing import fire_timer
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
