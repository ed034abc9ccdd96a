"""`leadbot forget EMAIL`: erase a person's data on request, keep the anonymous counts for the reports."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.intake.accept import normalise_email
from bot.sla import clocks as sla
from store import leads as lead_store
from store import privacy as privacy_store
from store.db import write_session


@dataclass(frozen=True)
class Erasure:
    lead_ids: list[int]
    closed: list[int]  # leads that were still open and are now closed


def forget_person(engine: Engine, clock: Clock, email: str, *, by: str = "admin") -> Erasure:
    """Erase every lead of this email address in one transaction; their Slack alerts are redrawn erased."""
    with write_session(engine) as session:
        leads = privacy_store.leads_of(session, normalise_email(email))
        if not leads:
            return Erasure([], [])
        now = clock.now()
        closed = [lead.id for lead in leads if lead.is_open]
        privacy_store.erase_leads(session, leads, now, by)
        for lead in leads:
            lead_store.log_activity(session, lead.id, now, by, "erased")
            sla.stop_all_clocks(session, lead)
            if lead.alert_ts:  # the DM in Slack still shows the person: show the erased lead instead
                delivery.send(session, Kind.ALERT_REDRAW, now=now, lead_id=lead.id)
        return Erasure([lead.id for lead in leads], closed)
