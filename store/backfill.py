"""Historic records written in batches: which are already here, and the rows of those that are not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from store import leads as lead_store
from store.models import Lead


@dataclass
class KnownLeads:
    """What the database already has of a batch's people: by CRM id, by email, and whose lead is open."""

    external_ids: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    open_emails: set[str] = field(default_factory=set)


def known_leads(session: Session, emails: set[str], external_ids: set[str]) -> KnownLeads:
    known = KnownLeads()
    if not emails and not external_ids:
        return known
    # Two queries, not one with OR: each is an index scan (an OR of two IN lists read the whole table).
    known_rows = select(Lead.email_norm, Lead.external_id, Lead.is_open)
    rows = session.exec(known_rows.where(col(Lead.email_norm).in_(emails))).all() if emails else []
    if external_ids:
        rows += session.exec(known_rows.where(col(Lead.external_id).in_(external_ids))).all()
    for email, external_id, is_open in rows:
        known.emails.add(email)
        if external_id:
            known.external_ids.add(external_id)
        if is_open:
            known.open_emails.add(email)
    return known


def insert_history(session: Session, leads: list[dict[str, Any]], activities: list[list[dict[str, Any]]]) -> list[int]:
    """The leads as plain rows, each one's activity rows, and their report rollup; the new ids in order."""
    ids = lead_store.insert_lead_rows(session, leads)
    rows = [row | {"lead_id": lead_id} for lead_id, logged in zip(ids, activities, strict=True) for row in logged]
    lead_store.log_activity_rows(session, rows)
    return ids
