"""Many new leads in one transaction: an import's batch through the live intake's own rules, set by set.

The same steps as bot.intake.accept.accept_in (route_new_lead, owner_deadlines, lead_created, new_lead_log,
the alert), with each kind of row written in one statement for the whole batch and routing's questions asked
once per batch (a RoutingView that counts the leads it hands out). A person who already has an open lead, or
comes twice in the batch, goes through accept_in after the batch's new leads, as a resubmission.
tests/test_import_batches.py holds the two paths to the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

from sqlmodel import Session

from bot.core.config import Config
from bot.crm import changes as crm
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.intake.accept import LeadIn, lead_values, new_lead_log, normalise_email, route_new_lead
from bot.routing.rotation import RoutingView
from bot.sla import clocks as sla
from bot.slack import claims
from store import leads as lead_store
from store import timers as timer_store
from store.db import model_defaults
from store.models import Lead

_lead_defaults = model_defaults(Lead)


class LeadRow(SimpleNamespace):
    """A new lead's column values with attribute access, for the rules that read a lead (routing, clocks, the
    CRM): building an ORM Lead costs about half a millisecond, more than its share of a multi-row INSERT."""

    @classmethod
    def of(cls, values: dict) -> LeadRow:
        return cls(**(_lead_defaults() | values))


@dataclass
class BatchAccepted:
    created: int = 0
    again: list[LeadIn] = field(default_factory=list)  # for accept_in: the person's lead is open already
    new: dict[int, tuple[LeadRow, str]] = field(default_factory=dict)  # id(LeadIn) → its new lead and routing rule


def accept_new_leads(session: Session, config: Config, now: datetime, leads: list[LeadIn], *, alert: bool):
    """The batch's new people as new leads (routed, clocked, alerted); the rest are left in `again`."""
    result = BatchAccepted()
    taken = lead_store.open_emails(session, {normalise_email(lead.email) for lead in leads})
    fresh: list[LeadIn] = []
    for lead in leads:
        email = normalise_email(lead.email)
        (result.again if email in taken else fresh).append(lead)
        taken.add(email)
    if not fresh:
        return result
    view = RoutingView(session, config, now)
    rows = [LeadRow.of(lead_values(lead, config, now)) for lead in fresh]
    if config.routing.existing_owner:
        view.know_owners({row.domain for row in rows if row.domain})
    assignments = [route_new_lead(row, view, config, now) for row in rows]
    claimable = [row for row, assignment in zip(rows, assignments, strict=True) if assignment.claimable]
    logs = [new_lead_log(row, config) for row in rows]
    for row, log in zip(rows, logs, strict=True):
        row.reached_mql = any(kind == "mql" for _, kind, _ in log)  # what log_activity sets from an "mql" entry
    for row, lead_id in zip(rows, lead_store.insert_lead_rows(session, [vars(row) for row in rows]), strict=True):
        row.id = lead_id
    _write_consequences(session, config, now, rows, logs)
    for row in claimable:
        offer = claims.claim_offer(Lead(**vars(row)))  # rare: nobody could take it; the message reads a Lead
        delivery.send(session, Kind.CLAIM_OFFER, now=now, lead_id=row.id, to=config.channels.unclaimed, message=offer)
    if alert:
        delivery.send_alerts(session, [(row.id, row.owner_id) for row in rows], now=now)
    delivery.refresh_homes(session, [row.owner_id for row in rows], now)
    result.created = len(rows)
    result.new = {id(lead): (row, a.rule) for lead, row, a in zip(fresh, rows, assignments, strict=True)}
    return result


def _write_consequences(session: Session, config: Config, now: datetime, rows: list[LeadRow], logs: list) -> None:
    """The new leads' timers and activity log, a statement each for the batch, and their CRM writes."""
    timer_store.schedule_new_leads(
        session, [(row.id, row.idle_period, sla.owner_deadlines(row, config, now)) for row in rows], now
    )
    lead_store.log_activity_rows(
        session,
        [
            {"lead_id": row.id, "at": now, "actor": actor, "kind": kind, "data": data}
            for row, log in zip(rows, logs, strict=True)
            for actor, kind, data in log
        ],
    )
    for row in rows:
        crm.lead_created(session, config, row, now)  # nothing unless a CRM is configured
