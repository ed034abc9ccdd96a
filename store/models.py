"""SQLModel tables. Times are aware UTC in Python, naive UTC in the database."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Float, Index, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

from store.db import UTCDateTime


def _utc_column(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


# Erased leads keep an address that is unique, valid-looking and can never be delivered (RFC 2606).
ERASED_DOMAIN = "erased.invalid"


class Stage(StrEnum):
    """Lead stages from the playbook: New → Attempting Contact → Engaged → MQL → SQL → Accepted | Disqualified.

    Which moves are allowed from which stage is decided in one place: bot/lifecycle/stages.py.
    """

    NEW = "new"
    ATTEMPTING_CONTACT = "attempting_contact"
    ENGAGED = "engaged"
    MQL = "mql"
    SQL = "sql"
    ACCEPTED = "accepted"
    DISQUALIFIED = "disqualified"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").title() if self not in (Stage.MQL, Stage.SQL) else self.value.upper()


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"

    slack_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    active: bool = True
    position: int = 0


class Lead(SQLModel, table=True):
    __tablename__ = "lead"
    # One open lead per email: a second concurrent intake of the same address cannot create a twin.
    __table_args__ = (
        Index(
            "ux_lead_open_email",
            "email_norm",
            unique=True,
            sqlite_where=text("is_open"),
            postgresql_where=text("is_open"),
        ),
        # Exact percentiles of time to first touch walk these in order instead of sorting the period.
        Index("ix_lead_first_touch_seconds", "first_touch_seconds", "created_at", "owner_id", "lead_source"),
        Index("ix_lead_owner_first_touch_seconds", "owner_id", "first_touch_seconds", "created_at"),
        Index(
            "ix_lead_first_touch_business_seconds",
            "first_touch_business_seconds",
            "created_at",
            "owner_id",
            "lead_source",
        ),
        # Leakage: open leads by when they were last active (the recently active few, and the longest idle).
        # SQLite renders `is_open` as `is_open = 1` and uses a partial index only when a query repeats it.
        Index(
            "ix_lead_open_idle",
            "last_activity_at",
            "created_at",
            "owner_id",
            "lead_source",
            sqlite_where=text("is_open = 1"),
            postgresql_where=text("is_open"),
        ),
        # An SDR's open queue in the App Home's order, read in index order instead of sorted.
        Index(
            "ix_lead_open_queue",
            "owner_id",
            text("(first_touch_at IS NOT NULL)"),
            "first_touch_due_at",
            "id",
            sqlite_where=text("is_open = 1"),
            postgresql_where=text("is_open"),
        ),
        # The managers' to-do list: open leads escalated with no activity since.
        Index(
            "ix_lead_escalation_waiting",
            "last_activity_at",
            sqlite_where=text("is_open = 1 AND last_escalated_at >= last_activity_at"),
            postgresql_where=text("is_open AND last_escalated_at >= last_activity_at"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    email_norm: str = Field(max_length=320, index=True)
    domain: str | None = Field(default=None, max_length=255, index=True)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=300)
    title: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    company_size: str | None = Field(default=None, max_length=64)
    industry: str | None = Field(default=None, max_length=200)
    product_interest: str | None = Field(default=None, max_length=200)
    source: str | None = Field(default=None, max_length=200)
    lead_source: str = Field(default="Unknown", max_length=100)
    utm_source: str | None = Field(default=None, max_length=300)
    utm_medium: str | None = Field(default=None, max_length=300)
    utm_campaign: str | None = Field(default=None, max_length=300)
    utm_term: str | None = Field(default=None, max_length=300)
    utm_content: str | None = Field(default=None, max_length=300)
    demo_request: bool = False
    pages_visited: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    external_id: str | None = Field(default=None, max_length=200)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))

    score: int = 0
    score_reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    hot: bool = False

    stage: str = Field(default=Stage.NEW, max_length=32, index=True)
    # The playbook's lifecycle stage beside the working status: lead, mql, sql, opportunity.
    lifecycle_stage: str = Field(default="lead", max_length=32)
    is_open: bool = True
    owner_id: str | None = Field(default=None, max_length=32, index=True)
    routing_reason: str | None = Field(default=None, max_length=500)

    created_at: datetime = _utc_column(index=True)
    assigned_at: datetime | None = _utc_column(nullable=True)
    first_touch_due_at: datetime | None = _utc_column(nullable=True)
    first_touch_at: datetime | None = _utc_column(nullable=True)
    first_touch_by: str | None = Field(default=None, max_length=32)
    first_touch_via: str | None = Field(default=None, max_length=32)
    last_activity_at: datetime | None = _utc_column(nullable=True)
    # Touches logged from Slack; the count guards each click, so a repeat changes nothing.
    touch_count: int = 0
    last_touch_at: datetime | None = _utc_column(nullable=True)
    last_touch_by: str | None = Field(default=None, max_length=32)
    last_touch_via: str | None = Field(default=None, max_length=32)

    # Where the owner's alert lives, so later changes update it in place.
    alert_channel: str | None = Field(default=None, max_length=32)
    alert_ts: str | None = Field(default=None, max_length=32)
    # The latest escalation message in the escalations channel, updated when a manager acts on it.
    escalation_ts: str | None = Field(default=None, max_length=32)
    # Offered in the unclaimed channel while the fallback owner holds it; the first eligible Claim wins.
    claimable: bool = False
    claim_ts: str | None = Field(default=None, max_length=32)

    # The lead's record in the team's CRM, once found or created (type: "contact"; Salesforce "Lead" or "Contact").
    crm_record_id: str | None = Field(default=None, max_length=64)
    crm_record_type: str | None = Field(default=None, max_length=32)
    crm_record_url: str | None = Field(default=None, max_length=500)  # for the "Open in <CRM>" buttons

    # Each activity starts a new idle period; SLA timers belong to one period and fire once in it.
    idle_period: int = 0
    reassign_count: int = 0
    # The AE an SQL is handed to (the handoff sets it); the AE response clock runs while it waits.
    ae_id: str | None = Field(default=None, max_length=32)
    # Qualify as SQL: the notes and the configured fields; the handoff message in the handoffs channel.
    qualification: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    handoff_ts: str | None = Field(default=None, max_length=32)
    # Why it was disqualified, or why the AE sent it back: {"code": ..., "notes": ..., "by": ...}.
    outcome: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))

    # What the reports count about this lead, kept by store.leads.log_activity from the activity log as each
    # event is appended (store.report_facts.rebuild_facts recomputes them from the whole log).
    first_touch_seconds: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    first_touch_business_seconds: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    touched_after_reassignment: bool = False
    first_touch_breaches: int = 0
    escalations: int = 0
    last_escalated_at: datetime | None = _utc_column(nullable=True)
    rejections: int = 0
    reached_mql: bool = False
    reached_sql: bool = False
    reached_opportunity: bool = False

    @property
    def is_erased(self) -> bool:
        """Its person asked to be forgotten (store.privacy): the address is a placeholder."""
        return self.email_norm.endswith(f"@{ERASED_DOMAIN}")

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email


class Activity(SQLModel, table=True):
    """The append-only activity log: every change to a lead, who made it and when."""

    __tablename__ = "activity"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    at: datetime = _utc_column(index=True)
    actor: str = Field(max_length=32)
    kind: str = Field(max_length=32, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


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
    published_at: datetime = _utc_column()


class SlackEventDelivery(SQLModel, table=True):
    """Events API deliveries already handled: Slack retries one (X-Slack-Retry-Num) with the same event_id."""

    __tablename__ = "slack_event_delivery"

    event_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime = _utc_column(index=True)


class Opportunity(SQLModel, table=True):
    """Created when an AE accepts an SQL; one per lead, enforced by the database."""

    __tablename__ = "opportunity"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", unique=True)
    name: str = Field(max_length=300)
    company: str | None = Field(default=None, max_length=300)
    domain: str | None = Field(default=None, max_length=255, index=True)
    ae_id: str = Field(max_length=32, index=True)
    sdr_id: str | None = Field(default=None, max_length=32)
    source: str = Field(max_length=100)
    created_at: datetime = _utc_column(index=True)
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The deal (HubSpot) or opportunity (Salesforce) it became in the CRM, once written.
    crm_id: str | None = Field(default=None, max_length=64)
    crm_url: str | None = Field(default=None, max_length=500)


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
    due_at: datetime = _utc_column()
    state: str = Field(default="pending", max_length=16)  # pending, fired, cancelled
    created_at: datetime = _utc_column()
    fired_at: datetime | None = _utc_column(nullable=True)


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
    away_until: datetime | None = _utc_column(nullable=True)
    updated_at: datetime = _utc_column()
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
    created_at: datetime = _utc_column()
    next_attempt_at: datetime = _utc_column()
    attempts: int = 0
    # Claimed and being sent. Still true at the next claim means the last sender died mid-call or lost the
    # answer: the call may have reached Slack, so the relay looks before it posts again.
    in_flight: bool = False
    sent_at: datetime | None = _utc_column(nullable=True)
    failed: bool = False
    last_error: str | None = Field(default=None, max_length=500)
    result_channel: str | None = Field(default=None, max_length=32)
    result_ts: str | None = Field(default=None, max_length=32)
