"""Prometheus metrics for `GET /metrics`: counters kept by this process, outbox depth read from the database.

Each `leadbot serve` or `leadbot worker` process keeps its own counters (Prometheus adds up instances);
the outbox gauges come from the shared database, so every instance reports the same depth.
"""

from __future__ import annotations

import logging
import re

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from store import outbox as outbox_store
from store.db import read_session

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BREACH_OUTCOMES = {"breached": "first_touch", "ae_escalated": "ae_response"}


class Metrics:
    def __init__(self, engine: Engine, clock: Clock, crm_target: str | None = None):
        self.registry = registry = CollectorRegistry()
        self.leads_received = Counter(
            "leadbot_leads_received",
            "Leads posted to the intake: created, duplicate (a touch on an open lead), invalid, unauthorized",
            ["result"],
            registry=registry,
        )
        self.intake_seconds = Histogram(
            "leadbot_intake_duration_seconds", "From request to answer for accepted leads", registry=registry
        )
        self.intake_group_size = Histogram(
            "leadbot_intake_group_size",
            "Leads accepted together in one transaction (posted while the group before was being committed)",
            buckets=(1, 2, 4, 8, 16, 32, 50),
            registry=registry,
        )
        self.alerts_sent = Counter("leadbot_alerts_sent", "Lead alerts delivered to their owner", registry=registry)
        self.slack_calls = Counter(
            "leadbot_slack_calls", "Slack Web API calls by the outbox relay", ["method", "outcome"], registry=registry
        )
        self.slack_errors = Counter(
            "leadbot_slack_api_errors",
            "Slack Web API calls that failed after slack-sdk's own retries, by method and error",
            ["method", "error"],
            registry=registry,
        )
        self.sla_firings = Counter(
            "leadbot_sla_timer_firings", "SLA timers fired by the sweep, by outcome", ["outcome"], registry=registry
        )
        self.sla_breaches = Counter(
            "leadbot_sla_breaches", "SLA breaches recorded: first_touch, ae_response", ["sla"], registry=registry
        )
        self.sweep_seconds = Histogram(
            "leadbot_sweep_duration_seconds",
            "Time one SLA sweep took, firings included",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60),
            registry=registry,
        )
        registry.register(_OutboxDepth(engine, clock, crm_target))

    def count_sweep(self, outcomes: dict[str, int], seconds: float) -> None:
        self.sweep_seconds.observe(seconds)
        for outcome, times in outcomes.items():
            self.sla_firings.labels(outcome=outcome).inc(times)
            if outcome in BREACH_OUTCOMES:
                self.sla_breaches.labels(sla=BREACH_OUTCOMES[outcome]).inc(times)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _OutboxDepth:
    """Read at scrape time: what waits to be sent, what failed for good, and how old the oldest waiting is."""

    def __init__(self, engine: Engine, clock: Clock, crm_target: str | None):
        self.engine, self.clock, self.crm_target = engine, clock, crm_target

    def describe(self):
        return []  # nothing to check at registration; the values come from the database at each scrape

    def collect(self):
        try:
            with read_session(self.engine) as session:
                pending, failed, oldest = outbox_store.depth(session)
        except Exception as exc:  # a scrape must not fail because the database is away; /healthz says so
            log.warning("metrics: outbox depth unavailable: %s", exc)
            return
        yield GaugeMetricFamily("leadbot_outbox_pending", "Slack calls waiting to be sent", value=pending)
        yield GaugeMetricFamily("leadbot_outbox_failed", "Slack calls that failed for good", value=failed)
        age = (self.clock.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "leadbot_outbox_oldest_pending_seconds", "Age of the oldest Slack call waiting (0 when none)", value=age
        )
        if self.crm_target:
            yield from self._crm_depth()

    def _crm_depth(self):
        try:
            with read_session(self.engine) as session:
                pending, failed, oldest = outbox_store.depth(session, self.crm_target)
                causes = outbox_store.failures_by_cause(session, self.crm_target) if failed else {}
        except Exception as exc:
            log.warning("metrics: CRM queue depth unavailable: %s", exc)
            return
        age = (self.clock.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily("leadbot_crm_pending", "CRM writes waiting to be made", value=pending)
        yield GaugeMetricFamily("leadbot_crm_oldest_pending_seconds", "Age of the oldest CRM write waiting", value=age)
        by_cause = GaugeMetricFamily("leadbot_crm_failed", "CRM writes refused for good, by cause", labels=["cause"])
        for cause, count in causes.items():
            by_cause.add_metric([refusal_cause(cause)], count)
        yield by_cause


def outbox_health(engine: Engine, clock: Clock, target: str = "slack") -> dict:
    """For /healthz: what waits to be sent, what failed for good, and the oldest wait in seconds (None: none)."""
    with read_session(engine) as session:
        unsent, failed, oldest = outbox_store.depth(session, target)
        causes = outbox_store.failures_by_cause(session, target) if target != "slack" and failed else {}
    age = (clock.now() - oldest).total_seconds() if oldest else None
    health = {"pending": unsent, "failed": failed, "oldest_pending_seconds": age}
    return health | ({"target": target, "failures_by_cause": causes} if target != "slack" else {})


def refusal_cause(error: str) -> str:
    """The CRM's category in "HubSpot refused it (VALIDATION_ERROR): ...", else the error's start."""
    found = re.search(r"\(([A-Z][A-Z0-9_]+)\)", error)
    return found.group(1) if found else error[:80]
