"""Intake: validate a lead, dedupe it, score it, route it, and queue its alert, in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.core.clock import Clock
from bot.core.config import Config
from bot.crm import changes as crm
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.intake.scoring import ScoringInput, score_lead
from bot.intake.sources import attribute_source, normalise_campaign
from bot.routing.rotation import Assignment, RoutingView, assign_in_view, facts_of
from bot.sla import clocks as sla
from bot.slack import alert, claims
from store import leads as lead_store
from store.db import write_session
from store.models import Lead, Stage

log = logging.getLogger(__name__)

Text = Annotated[str, Field(max_length=300)]


class LeadIn(BaseModel):
    """A lead as forms and CRMs post it. Fields we do not know are kept, not dropped."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    email: EmailStr
    first_name: Text | None = None
    last_name: Text | None = None
    company: Text | None = None
    domain: Text | None = None
    title: Text | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None
    country: Text | None = None
    region: Text | None = None
    company_size: Annotated[str, Field(max_length=64)] | Annotated[int, Field(ge=0)] | None = None
    industry: Text | None = None
    product_interest: Annotated[Text | None, Field(validation_alias=AliasChoices("product_interest", "product"))] = None
    source: Text | None = None
    utm_source: Text | None = None
    utm_medium: Text | None = None
    utm_campaign: Text | None = None
    utm_term: Text | None = None
    utm_content: Text | None = None
    demo_request: StrictBool = False
    pricing_page_visit: StrictBool = False
    pages_visited: Annotated[list[Annotated[str, Field(max_length=2000)]], Field(max_length=200)] = []
    external_id: Annotated[str, Field(max_length=200)] | int | None = None
    # When the source created the lead (the form's submission, the CRM record's creation): the delay before
    # Leadbot heard of it counts as the system's, not the rep's. ISO 8601 with a zone, or epoch milliseconds.
    created_at: AwareDatetime | None = Field(default=None, validation_alias=AliasChoices("created_at", "submitted_at"))

    @field_validator("created_at", mode="before")
    @classmethod
    def _epoch_milliseconds(cls, value: Any) -> Any:
        if isinstance(value, int | str) and str(value).isdigit():
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        return value

    @field_validator("email")
    @classmethod
    def _lower_domain(cls, value: str) -> str:
        local, _, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"


class InvalidLead(Exception):
    """The request body is not a lead; `fields` maps each bad field to what is wrong with it."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(", ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


# No form or CRM nests a lead deeper than this; a deeper body is an attack on the parser, not a lead.
MAX_NESTING = 32


def shape_problems(data: Any) -> dict[str, str]:
    """What no lead can carry, anywhere in the body: nesting past MAX_NESTING, or a NUL character (PostgreSQL
    cannot store one in text, SQLite can: refused on both, so a lead is accepted or not whatever the database)."""
    problems: dict[str, str] = {}
    stack: list[tuple[str, Any, int]] = [("", data, 0)]  # a stack, not recursion: the depth is what is checked
    while stack and len(problems) < 10:
        path, value, depth = stack.pop()
        if depth > MAX_NESTING:
            problems[path or "(body)"] = f"nested deeper than {MAX_NESTING} levels"
            continue
        if isinstance(value, str) and "\x00" in value:
            problems[path or "(body)"] = "contains a NUL character"
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else str(key)
                if "\x00" in str(key):
                    problems[where] = "the field name contains a NUL character"
                stack.append((where, item, depth + 1))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item, depth + 1) for i, item in enumerate(value))
    return problems


def parse_lead(data: Any) -> LeadIn:
    if not isinstance(data, dict):
        raise InvalidLead({"(body)": "must be a JSON object with at least an email"})
    if problems := shape_problems(data):
        raise InvalidLead(problems)
    try:
        return LeadIn.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"]) or "(body)"
            fields.setdefault(key, "required" if error["type"] == "missing" else error["msg"])
        raise InvalidLead(fields) from None


@dataclass(frozen=True)
class IntakeResult:
    lead: Lead
    created: bool  # False: the same person while their lead is open, logged as a touch on it
    rule: str | None = None  # which routing rule chose the owner (None for a resubmission)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def build_lead(data: LeadIn, config: Config, now: datetime) -> Lead:
    """The lead row of a submission, scored and attributed, not yet routed (created and assigned `now`)."""
    return Lead(**lead_values(data, config, now))


def lead_values(data: LeadIn, config: Config, now: datetime) -> dict:
    """build_lead's column values: a backfill inserts thousands as plain rows (an ORM Lead costs ~0.5 ms)."""
    email_domain = _email_domain(data.email)
    free = email_domain in {d.lower() for d in config.scoring.free_email_domains}
    size = str(data.company_size) if data.company_size is not None else None
    score = score_lead(
        ScoringInput(
            email_domain=email_domain,
            industry=data.industry,
            company_size=size,
            country=data.country,
            region=data.region,
            title=data.title,
            demo_request=data.demo_request,
            pricing_page_visit=data.pricing_page_visit,
            pages_visited=tuple(data.pages_visited),
        ),
        config.scoring,
    )
    return dict(
        **_as_given(data),
        email_norm=normalise_email(data.email),
        domain=(data.domain or (None if free else email_domain)),
        company_size=size,
        lead_source=attribute_source(
            config.sources,
            source=data.source,
            utm_source=data.utm_source,
            utm_medium=data.utm_medium,
            pages=tuple(data.pages_visited),
        ),
        utm_campaign=normalise_campaign(data.utm_campaign),
        external_id=str(data.external_id) if data.external_id is not None else None,
        extra=_extra(data),
        score=score.points,
        score_reasons=[r.as_dict() for r in score.reasons],
        hot=score.hot,
        stage=Stage.NEW,
        lifecycle_stage="mql" if score.mql else "lead",
        is_open=True,
        created_at=now,
        assigned_at=now,
        last_activity_at=now,
        **_source_time(data.created_at, now),
    )


SOURCE_CLOCK_SKEW = timedelta(minutes=5)


def _source_time(created: datetime | None, now: datetime) -> dict:
    """The source's creation time and the delay before Leadbot; a time ahead of ours by more than skew is ignored."""
    if created is None or created > now + SOURCE_CLOCK_SKEW:
        return {}
    created = min(created, now)
    return {"source_created_at": created, "source_seconds": (now - created).total_seconds()}


# Stored as the form sent them (after validation).
_AS_GIVEN = (
    "email", "first_name", "last_name", "company", "title", "phone", "country", "region", "industry",
    "product_interest", "source", "utm_source", "utm_medium", "utm_term", "utm_content", "demo_request",
)  # fmt: skip


def _as_given(data: LeadIn) -> dict:
    return {name: getattr(data, name) for name in _AS_GIVEN} | {"pages_visited": list(data.pages_visited)}


def _extra(data: LeadIn) -> dict:
    """Fields we do not model are kept, with the signals and raw values we would otherwise lose."""
    extra = dict(data.model_extra or {})
    if data.pricing_page_visit:
        extra["pricing_page_visit"] = True
    if data.utm_campaign != normalise_campaign(data.utm_campaign):
        extra["utm_campaign_raw"] = data.utm_campaign
    return extra


def rescore_with(existing: Lead, data: LeadIn, config: Config):
    """The lead's score once the new submission's intent signals are added to what it already showed."""
    pages = tuple(dict.fromkeys([*existing.pages_visited, *data.pages_visited]))
    return score_lead(
        ScoringInput(
            email_domain=_email_domain(existing.email),
            industry=existing.industry or data.industry,
            company_size=existing.company_size,
            country=existing.country or data.country,
            region=existing.region or data.region,
            title=existing.title or data.title,
            demo_request=existing.demo_request or data.demo_request,
            pricing_page_visit=bool(existing.extra.get("pricing_page_visit")) or data.pricing_page_visit,
            pages_visited=pages,
        ),
        config.scoring,
    )


def _record_resubmission(session, existing: Lead, data: LeadIn, config: Config, now: datetime) -> IntakeResult:
    lead_store.log_activity(
        session, existing.id, now, "intake", "resubmitted", fields=data.model_dump(mode="json", exclude_none=True)
    )
    score = rescore_with(existing, data, config)
    if score.points != existing.score:
        was_mql = existing.score >= config.scoring.mql_threshold
        existing.score, existing.score_reasons = score.points, [r.as_dict() for r in score.reasons]
        existing.demo_request = existing.demo_request or data.demo_request
        existing.pages_visited = list(dict.fromkeys([*existing.pages_visited, *data.pages_visited]))
        lead_store.log_activity(
            session, existing.id, now, "system", "scored", score=score.points, reasons=existing.score_reasons
        )
        if score.mql and not was_mql:
            if existing.lifecycle_stage == "lead":
                existing.lifecycle_stage = "mql"
            lead_store.log_activity(session, existing.id, now, "system", "mql", score=score.points)
            crm.stage_changed(session, config, existing, now, by="system", reason=f"score {score.points}")
        session.add(existing)
        delivery.send(session, Kind.ALERT_REDRAW, now=now, lead_id=existing.id)
    # Not the owner's activity, so the idle clocks keep running.
    notice = alert.resubmission_notice(existing, data.source)
    delivery.send(
        session, Kind.ALERT_REPLY, now=now, lead_id=existing.id, message=notice, dm_if_no_alert=existing.owner_id
    )
    return IntakeResult(lead=existing, created=False)


def accept_lead(engine: Engine, config: Config, clock: Clock, data: LeadIn) -> IntakeResult:
    """Store the lead (or the touch on its open twin) with its assignment and alert, atomically.

    A connection the database dropped mid-transaction (a restart, a failover, an admin terminating it)
    rolled the whole intake back, so it is run once more on a fresh connection before the sender is told
    503: an instance that is alive should not turn away a lead because one pooled connection died.
    """
    try:
        return _accept_once(engine, config, clock, data)
    except IntegrityError:
        # Two posts of a new email raced on PostgreSQL; the loser finds the winner's lead now.
        return _accept_once(engine, config, clock, data)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("intake: the database dropped the connection mid-transaction; trying once more")
        return _accept_once(engine, config, clock, data)


def _accept_once(engine: Engine, config: Config, clock: Clock, data: LeadIn) -> IntakeResult:
    with write_session(engine) as session:
        return accept_in(session, config, clock.now(), data)


def accept_in(session, config: Config, now: datetime, data: LeadIn, *, alert: bool = True) -> IntakeResult:
    """The whole intake inside the caller's transaction (the routing dry run rolls it back)."""
    existing = lead_store.find_open_by_email(session, normalise_email(data.email))
    if existing is not None:
        return _record_resubmission(session, existing, data, config, now)
    lead = build_lead(data, config, now)
    assignment = route_new_lead(lead, RoutingView(session, config, now), config, now)
    lead_store.insert_lead(session, lead)
    sla.start_clocks(session, lead, config, now)
    crm.lead_created(session, config, lead, now)
    lead_store.log_activities(session, lead.id, now, new_lead_log(lead, config))
    if assignment.claimable:
        offer = claims.claim_offer(lead)
        delivery.send(session, Kind.CLAIM_OFFER, now=now, lead_id=lead.id, to=config.channels.unclaimed, message=offer)
    if alert:
        delivery.send(session, Kind.ALERT, now=now, lead_id=lead.id, to=lead.owner_id)
    delivery.refresh_homes(session, [lead.owner_id], now)
    return IntakeResult(lead=lead, created=True, rule=assignment.rule)


def route_new_lead(lead, view: RoutingView, config: Config, now: datetime) -> Assignment:
    """Set a new lead's owner, routing reason, claimability, first-touch due time and CRM record (on a Lead, or on
    an import's plain row with the same attributes)."""
    assignment = assign_in_view(view, facts_of(lead, config))
    lead.owner_id, lead.routing_reason = assignment.owner_id, assignment.reason
    lead.claimable = assignment.claimable
    lead.first_touch_due_at = sla.first_touch_due(lead, config, now)
    lead.crm_record_id, lead.crm_record_type = crm.record_from_source(config, lead.external_id) or (None, None)
    return assignment


def new_lead_log(lead, config: Config) -> list[tuple[str, str, dict]]:
    """What a new lead's activity log starts with: (actor, kind, data) each."""
    log = [
        ("intake", "created", {"source": lead.lead_source}),
        ("system", "scored", {"score": lead.score, "reasons": lead.score_reasons}),
        ("system", "assigned", {"owner": lead.owner_id, "reason": lead.routing_reason}),
    ]
    if lead.score >= config.scoring.mql_threshold:
        log.append(("system", "mql", {"score": lead.score}))
    return log
