"""Work waiting to happen: timers, routing turns, member status and the outbox of calls to Slack and the CRM."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

from store.db import utc_column


class TimerKind:
    FIRST_TOUCH_REMINDER = "first_touch_reminder"
    FIRST_TOUCH_DUE = "first_touch_due"
    ESCALATE = "escalate"
    REASSIGN = "reassign"
    AE_REMINDER = "ae_reminder"
    AE_ESCALATE = "ae_escalate"

    FIRST_TOUCH = (FIRST_TOUCH_REMINDER, FIRST_TOUCH_DUE)
    IDLE = (ESCALATE, REASSIGN)
    AE = (AE_REMINDER, AE_ESCALATE)


class Timer(SQLModel, table=True):
    """An SLA deadline as a row: the sweep claims due rows and acts in the same transaction."""

    __tablename__ = "timer"
    __table_args__ = (
        # Fires once per lead, kind and idle period, whatever the number of sweepers.
        UniqueConstraint("lead_id", "kind", "period", name="ux_timer_once"),
        Index(
            "ix_timer_pending_due",
            "due_at",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    kind: str = Field(max_length=32)
    period: int = 0
    due_at: datetime = utc_column()
    state: str = Field(default="pending", max_length=16)  # pending, fired, cancelled
    created_at: datetime = utc_column()
    fired_at: datetime | None = utc_column(nullable=True)


class RoutingState(SQLModel, table=True):
    """Where each rotation stands; one row per pool, locked while a lead is assigned."""

    __tablename__ = "routing_state"

    pool: str = Field(primary_key=True, max_length=100)
    last_slack_id: str | None = Field(default=None, max_length=32)
    assigned_count: int = 0
    # Leads each rep got from this pool (weighted pools pick the rep furthest below their share).
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))
    # Round robin's memory of reassignments: turns owed to a rep who lost a lead (> 0), turns a rep who was
    # given one has had in advance (< 0). The rotation settles them, so a reassignment moves no one's share.
    credits: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))


class MemberStatus(SQLModel, table=True):
    """Availability a rep (or a manager for them) sets from Slack: /leadbot away [until], /leadbot back."""

    __tablename__ = "member_status"

    slack_id: str = Field(primary_key=True, max_length=32)
    away: bool = False
    away_until: datetime | None = utc_column(nullable=True)
    updated_at: datetime = utc_column()
    updated_by: str = Field(max_length=32)


class OutboxMessage(SQLModel, table=True):
    """A delivery (a Slack call) recorded in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            sqlite_where=text("sent_at IS NULL AND NOT failed"),
            postgresql_where=text("sent_at IS NULL AND NOT failed"),
        ),
        # "Is a refresh for this person already waiting?" (enqueue_once) without scanning every unsent row.
        Index(
            "ix_outbox_pending_ref",
            "ref",
            sqlite_where=text("sent_at IS NULL AND NOT failed"),
            postgresql_where=text("sent_at IS NULL AND NOT failed"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Where it goes ("slack"; a CRM next): order is kept per lead and target, and each has its own retries.
    target: str = Field(default="slack", max_length=16, sa_column_kwargs={"server_default": "slack"})
    lead_id: int | None = Field(default=None, foreign_key="lead.id", index=True)
    method: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # "alert": this call posts or updates the lead's alert message (channel and ts kept on the lead).
    ref: str | None = Field(default=None, max_length=32)
    # Background work (an App Home refresh, a DM redrawn for its CRM link): claimed after every due message,
    # so a burst of refreshes never holds up a new lead's DM.
    background: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = utc_column()
    next_attempt_at: datetime = utc_column()
    attempts: int = 0
    # Claimed and being sent. Still true at the next claim means the last sender died mid-call or lost the
    # answer: the call may have reached Slack, so the relay looks before it posts again.
    in_flight: bool = False
    sent_at: datetime | None = utc_column(nullable=True)
    failed: bool = False
    last_error: str | None = Field(default=None, max_length=500)
    result_channel: str | None = Field(default=None, max_length=32)
    result_ts: str | None = Field(default=None, max_length=32)
