"""Stage transitions of qualification and handoff, and opportunities."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from store.models import Lead, Opportunity


def move_stage(session: Session, lead_id: int, *, from_stages: tuple[str, ...], **values: Any) -> bool:
    """Change a lead only if it is still open and in one of `from_stages`: a late or double click finds nothing."""
    result = session.exec(
        update(Lead)
        .where(col(Lead.id) == lead_id, col(Lead.is_open), col(Lead.stage).in_(from_stages))
        .values(**values)
    )
    return result.rowcount == 1


def opportunity_owner_for_domain(session: Session, domain: str) -> str | None:
    """The AE of the latest opportunity from this company domain, if any."""
    return session.exec(
        select(Opportunity.ae_id).where(Opportunity.domain == domain).order_by(col(Opportunity.id).desc()).limit(1)
    ).first()


def create_opportunity(session: Session, opportunity: Opportunity) -> bool:
    """Insert the lead's opportunity; False if it already has one (the unique lead_id decides a race)."""
    try:
        with session.begin_nested():  # a savepoint, so a lost race does not abort the caller's transaction
            session.add(opportunity)
    except IntegrityError:
        return False
    return True


def get_opportunity(session: Session, opportunity_id: int) -> Opportunity | None:
    return session.get(Opportunity, opportunity_id)


def set_opportunity_crm(session: Session, opportunity_id: int, crm_id: str, crm_url: str | None) -> bool:
    """Remember the deal / opportunity written to the CRM; True the first time."""
    result = session.exec(
        update(Opportunity)
        .where(col(Opportunity.id) == opportunity_id, col(Opportunity.crm_id).is_(None))
        .values(crm_id=crm_id, crm_url=crm_url)
    )
    return result.rowcount == 1
