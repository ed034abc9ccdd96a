"""Bookkeeping rows: the report's rollup, App Home hashes, and receipts that make replayed deliveries safe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from store.db import UTCDateTime, utc_column


class StatsDay(SQLModel, table=True):
    """The report's counts for the leads created on one UTC day, per current owner and source.

    A rollup of the lead rows, rebuilt for a day whenever one of its leads changes (store.stats.fold_changes),
    so a 90-day report adds up about 90 × owners × sources rows instead of scanning every lead.
    """

    __tablename__ = "stats_day"

    day: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))  # midnight UTC
    owner_id: str = Field(primary_key=True, max_length=32)  # "" for a lead without an owner
    lead_source: str = Field(primary_key=True, max_length=100)
    leads: int = 0
    touched: int = 0
    within_sla: int = 0
    timed: int = 0  # first touches with their time recorded (the percentiles' population)
    timed_business: int = 0
    breaches: int = 0
    escalations: int = 0
    reassignments: int = 0
    touched_after_reassignment: int = 0
    mql: int = 0
    sql: int = 0
    accepted: int = 0
    rejected: int = 0
    open: int = 0


class StatsChange(SQLModel, table=True):
    """A lead whose report figures changed since its day was last folded into stats_day."""

    __tablename__ = "stats_change"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int


class HomeView(SQLModel, table=True):
    """The hash Slack gave the App Home Leadbot last published for a person: the next publish passes it, so a
    render made earlier never overwrites one made later (Slack answers hash_conflict instead)."""

    __tablename__ = "home_view"

    user_id: str = Field(primary_key=True, max_length=32)
    hash: str = Field(max_length=64)
    published_at: datetime = utc_column()


class SlackEventDelivery(SQLModel, table=True):
    """Events API deliveries already handled: Slack retries one (X-Slack-Retry-Num) with the same event_id."""

    __tablename__ = "slack_event_delivery"

    event_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime = utc_column(index=True)


class TouchReceipt(SQLModel, table=True):
    """Touches logged from outside Slack, by the sender's own activity id: a replayed one is logged once."""

    __tablename__ = "touch_receipt"

    source: str = Field(primary_key=True, max_length=32)
    external_id: str = Field(primary_key=True, max_length=200)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    received_at: datetime = utc_column()
