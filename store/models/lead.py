"""The lead and who works it: team members, the lead row, its activity log and its opportunity."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Float, Index, text
from sqlmodel import Field, SQLModel

from store.db import utc_column

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
    external_id: str | None = Field(default=None, max_length=200, index=True)  # a backfill's key, CRM events
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

    created_at: datetime = utc_column(index=True)
    assigned_at: datetime | None = utc_column(nullable=True)
    first_touch_due_at: datetime | None = utc_column(nullable=True)
    first_touch_at: datetime | None = utc_column(nullable=True)
    first_touch_by: str | None = Field(default=None, max_length=32)
    first_touch_via: str | None = Field(default=None, max_length=32)
    last_activity_at: datetime | None = utc_column(nullable=True)
    # Touches logged from Slack; the count guards each click, so a repeat changes nothing.
    touch_count: int = 0
    last_touch_at: datetime | None = utc_column(nullable=True)
    last_touch_by: str | None = Field(default=None, max_length=32)
    last_touch_via: str | None = Field(default=None, max_length=32)
    # Where a touch was logged when not with the Slack button: "hubspot", "salesforce", or a tool's name.
    first_touch_source: str | None = Field(default=None, max_length=32)
    last_touch_source: str | None = Field(default=None, max_length=32)

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

    # Where the time to first touch went (the honest split in /leadstats): before Leadbot (the source's own
    # creation time, when the form or CRM sends it, to intake), Leadbot's own (intake to the DM delivered),
    # and the rep's (DM delivered to first touch); and when a touch was first confirmed outside Slack.
    source_created_at: datetime | None = utc_column(nullable=True)
    alert_delivered_at: datetime | None = utc_column(nullable=True)
    source_seconds: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    delivery_seconds: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    rep_seconds: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    confirmed_touch_at: datetime | None = utc_column(nullable=True)

    # What the reports count about this lead, kept by store.leads.log_activity from the activity log as each
    # event is appended (store.report_facts.rebuild_facts recomputes them from the whole log).
    first_touch_seconds: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    first_touch_business_seconds: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    touched_after_reassignment: bool = False
    first_touch_breaches: int = 0
    escalations: int = 0
    last_escalated_at: datetime | None = utc_column(nullable=True)
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
    at: datetime = utc_column(index=True)
    actor: str = Field(max_length=32)
    kind: str = Field(max_length=32, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


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
    created_at: datetime = utc_column(index=True)
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The deal (HubSpot) or opportunity (Salesforce) it became in the CRM, once written.
    crm_id: str | None = Field(default=None, max_length=64)
    crm_url: str | None = Field(default=None, max_length=500)
