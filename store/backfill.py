"""Historic records written in batches: which are already here, and the rows of those that are not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, or_, select

from store.models import Activity, Lead, StatsChange


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
    query = select(Lead.email_norm, Lead.external_id, Lead.is_open).where(
        or_(col(Lead.email_norm).in_(emails), col(Lead.external_id).in_(external_ids))
    )
    for email, external_id, is_open in session.exec(query):
        known.emails.add(email)
        if external_id:
            known.external_ids.add(external_id)
        if is_open:
            known.open_emails.add(email)
    return known


def insert_history(session: Session, leads: list[dict[str, Any]], activities: list[list[dict[str, Any]]]) -> list[int]:
    """The leads as plain rows (the model's defaults fill what they leave out), each one's activity rows, and
    their report rollup; the new ids, in the leads' order. Plain rows, not ORM objects: a Lead object costs
    about half a millisecond to build, more than its share of the INSERT."""
    if not leads:
        return []
    defaults = _lead_defaults()
    # Core statements on the tables: the ORM's bulk path costs as much again in Python for rows like these.
    connection = session.connection()
    statement = insert(Lead.__table__).returning(Lead.__table__.c.id, sort_by_parameter_order=True)
    ids = list(connection.execute(statement, [defaults() | lead for lead in leads]).scalars())
    rows = [row | {"lead_id": lead_id} for lead_id, logged in zip(ids, activities, strict=True) for row in logged]
    if rows:
        connection.execute(insert(Activity.__table__), rows)
    connection.execute(insert(StatsChange.__table__), [{"lead_id": lead_id} for lead_id in ids])
    return ids


def _lead_defaults():
    """A function giving the Lead model's default for every column (fresh lists and dicts each call)."""
    columns = [column.name for column in Lead.__table__.columns if column.name != "id"]
    fields = {name: Lead.model_fields[name] for name in columns}
    fixed = {name: field.default for name, field in fields.items() if field.default_factory is None}
    made = {name: field.default_factory for name, field in fields.items() if field.default_factory is not None}
    return lambda: fixed | {name: factory() for name, factory in made.items()}
