"""Erasing a person (GDPR Art. 17): their personal data goes, the anonymous counts the reports need stay."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from store.models import ERASED_DOMAIN, Activity, Lead, Opportunity, OutboxMessage, Stage

# What an activity may keep: report figures, owners (Slack ids), codes. Anything else (notes, resubmitted
# fields, score details) can carry what the person wrote or what was written about them.
ACTIVITY_KEYS_KEPT = {
    "source",
    "score",
    "owner",
    "via",
    "number",
    "first",
    "on_behalf_of",
    "logged_in",
    "by_owner",
    "lead_closed",
    "seconds_to_first_touch",
    "business_seconds_to_first_touch",
    "from",
    "to",
    "sla",
    "ae",
    "idle_seconds",
    "why",
    "opportunity_id",
}
_CODE = re.compile(r"[a-z_]{1,40}")  # a reason code (no_budget, not_icp); a reason in words may name the company


def leads_of(session: Session, email_norm: str) -> list[Lead]:
    """The person's leads, locked (leads first, as everywhere) for the erasure that follows."""
    query = select(Lead).where(Lead.email_norm == email_norm).order_by(col(Lead.id)).with_for_update()
    return list(session.exec(query.execution_options(populate_existing=True)).all())


def _blanked(lead: Lead, now: datetime, by: str) -> dict:
    """The lead's new values: no personal field left, closed (a lead still open is disqualified as "erased")."""
    anonymous = f"erased-{lead.id}@{ERASED_DOMAIN}"
    values = {
        "email": anonymous,
        "email_norm": anonymous,
        "domain": None,
        "first_name": None,
        "last_name": None,
        "company": None,
        "title": None,
        "phone": None,
        "external_id": None,
        "routing_reason": None,  # may name the company or its domain (existing-owner match)
        "extra": {},
        "pages_visited": [],
        "qualification": {},
        "score_reasons": [{"rule": r.get("rule"), "points": r.get("points")} for r in lead.score_reasons],
        "outcome": {"code": "erased" if lead.is_open else lead.outcome.get("code"), "by": by, "at": now.isoformat()},
        "is_open": False,
    }
    if lead.is_open:
        values["stage"] = Stage.DISQUALIFIED
    return values


def erase_leads(session: Session, leads: list[Lead], now: datetime, by: str) -> None:
    """Blank every personal field of these leads, their log, opportunities and Slack calls; close the open ones.

    Kept: ids, times, owners, source and campaign, stage, score points, and the report facts, so
    /leadstats still counts them. The lead is closed (nobody should keep calling someone who asked to
    be forgotten); a lead that was still open is marked disqualified with the code "erased".
    """
    ids = [lead.id for lead in leads]
    for lead in leads:
        session.exec(update(Lead).where(col(Lead.id) == lead.id).values(**_blanked(lead, now, by)))
    for activity in session.exec(select(Activity).where(col(Activity.lead_id).in_(ids))).all():
        kept = {
            key: value
            for key, value in activity.data.items()
            if key in ACTIVITY_KEYS_KEPT or (key == "reason" and isinstance(value, str) and _CODE.fullmatch(value))
        }
        if kept != activity.data:
            session.exec(update(Activity).where(col(Activity.id) == activity.id).values(data=kept))
    session.exec(
        update(Opportunity)
        .where(col(Opportunity.lead_id).in_(ids))
        .values(name="Erased", company=None, domain=None, fields={})
    )
    # Sent calls keep only that they happened. Waiting ones built with the person's data are dropped; those
    # that render the lead when sent (its alert) stay, and will show it erased. Locked first: a relay marking
    # one sent between the two statements below would otherwise slip past both with the data in it.
    session.exec(select(OutboxMessage.id).where(col(OutboxMessage.lead_id).in_(ids)).with_for_update()).all()
    session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.lead_id).in_(ids), col(OutboxMessage.sent_at).is_not(None))
        .values(payload={})
    )
    waiting = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.lead_id).in_(ids), col(OutboxMessage.sent_at).is_(None))
    ).all()
    dropped = [row.id for row in waiting if "render" not in row.payload]
    if dropped:
        session.exec(delete(OutboxMessage).where(col(OutboxMessage.id).in_(dropped)))
