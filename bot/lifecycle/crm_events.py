"""What happens in the CRM comes back into Leadbot: activities there are touches, and a person's owner change wins.

An activity (a call, email, meeting or note a rep logged in HubSpot or Salesforce) goes through the touch
API's rule (bot.lifecycle.logged_touches), keyed by the CRM's own activity id, so a replayed event counts
once. Leadbot's own activities coming back are recognised by their signature and left alone.

An owner change: when a person (or the CRM's own workflow) gives the record to someone else, the CRM is the
system of record and wins. Leadbot reassigns the lead with the reason "changed in the CRM", moves its
clocks, tells the old and the new owner, and writes nothing back. What is not a person's change is
recognised and left alone:
- the owner Leadbot already has (its own write, echoing back);
- an owner Leadbot itself wrote about then (an older write of Leadbot's, echoing back late);
- a change older than Leadbot's own latest assignment (Leadbot's newer decision is, or will be, in the CRM:
  the most recent change wins, as between HubSpot and Salesforce themselves).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.team import person_named
from bot.crm.inbound import ActivityMade, CrmEvent, OwnerChanged
from bot.crm.records import CrmActivity, CrmConnector
from bot.delivery import queue as delivery
from bot.delivery.kinds import Kind
from bot.lifecycle.codes import ContactMethod
from bot.lifecycle.logged_touches import LeadRef, TouchIn, TouchRefused, UnknownLead, log_logged_touch
from bot.sla.clocks import stop_all_clocks
from bot.sla.reassignment import reassign_lead
from bot.slack.escalation import owner_left_the_team
from store import leads as lead_store
from store import outbox as outbox_store
from store.db import write_session
from store.models import Lead

log = logging.getLogger(__name__)

LABELS = {"hubspot": "HubSpot", "salesforce": "Salesforce"}
# How far apart Leadbot's write of an owner and the CRM's report of that change may be (two clocks, a queue).
ECHO_WINDOW = timedelta(minutes=2)
CHANGED_IN_THE_CRM = "Changed in the CRM"


@dataclass
class CrmEventsTaken:
    touches: int = 0
    owner_changes: int = 0
    ignored: int = 0
    notes: list[str] = field(default_factory=list)  # one line per event, for the answer and the log

    def as_json(self) -> dict:
        return {"touches": self.touches, "owner_changes": self.owner_changes, "ignored": self.ignored,
                "events": self.notes}  # fmt: skip


def take_crm_events(
    engine: Engine, config: Config, clock: Clock, connector: CrmConnector | None, system: str, events: list
) -> CrmEventsTaken:
    """Each event in its own transaction; an event Leadbot has no use for (or no lead for) is counted, not an error.

    A CRM that cannot be read (to learn what a HubSpot activity is) raises CrmError: the sender retries the
    request, and what was already taken is not taken twice.
    """
    taken = CrmEventsTaken()
    for event in events:
        outcome = _take_one(engine, config, clock, connector, system, event)
        taken.notes.append(outcome)
        if outcome.startswith("touch"):
            taken.touches += 1
        elif outcome.startswith("owner changed"):
            taken.owner_changes += 1
        else:
            taken.ignored += 1
    return taken


def _take_one(
    engine: Engine, config: Config, clock: Clock, connector: CrmConnector | None, system: str, event: CrmEvent | None
) -> str:
    if isinstance(event, ActivityMade):
        activity = connector.read_activity(event.kind, event.activity_id) if connector else None
        return take_crm_activity(engine, config, clock, connector, system, activity) if activity else "not found"
    if isinstance(event, CrmActivity):
        return take_crm_activity(engine, config, clock, connector, system, event)
    if isinstance(event, OwnerChanged):
        return take_crm_owner_change(engine, config, clock, connector, system, event)
    return "not a touch or an owner change"


# -- activities ----------------------------------------------------------------------------------------
def take_crm_activity(
    engine: Engine, config: Config, clock: Clock, connector: CrmConnector | None, system: str, activity: CrmActivity
) -> str:
    if activity.by_leadbot:
        return "Leadbot's own activity"
    member = member_for_crm_owner(config, connector, activity.owner_crm_id)
    results = []
    for record_id in activity.record_ids:
        several = len(activity.record_ids) > 1
        touch = TouchIn(
            channel=ContactMethod(activity.channel),
            by=member or activity.owner_crm_id or f"someone in {LABELS[system]}",
            at=activity.at,
            note=activity.title or None,
            external_id=f"{activity.id}@{record_id}" if several else activity.id,
            source=system,
        )
        try:
            taken = log_logged_touch(engine, config, clock, LeadRef(crm_id=record_id), touch)
        except UnknownLead:
            continue
        except TouchRefused as refused:  # made before the lead reached Leadbot, say: not a touch on this lead
            results.append(f"not taken: {refused.user_message}")
            continue
        results.append(f"touch on lead #{taken.lead.id}: {taken.logged}")
    return "; ".join(results) or "no lead for this record"


def member_for_crm_owner(config: Config, connector: CrmConnector | None, owner_crm_id: str | None) -> str | None:
    """The team member (Slack id) the CRM knows by this owner id: by `crm_owner_id`, else by their email."""
    if not owner_crm_id:
        return None
    named = person_named(config, owner_crm_id)
    if named or connector is None:
        return named
    for member in config.team:
        if member.email and not member.crm_owner_id and connector.owner_id_for(member.email) == owner_crm_id:
            return member.slack_id
    return None


# -- owner changes -------------------------------------------------------------------------------------
def take_crm_owner_change(
    engine: Engine, config: Config, clock: Clock, connector: CrmConnector | None, system: str, change: OwnerChanged
) -> str:
    member = member_for_crm_owner(config, connector, change.owner_crm_id)  # before the lock: it may ask the CRM
    label = LABELS[system]
    with write_session(engine) as session:
        lead_id = lead_store.find_lead_id(session, crm_id=change.record_id)
        lead = lead_store.lock_lead(session, lead_id) if lead_id else None
        if lead is None:
            return "no lead for this record"
        if not lead.is_open:
            return f"lead #{lead.id} is closed"
        if member is not None and member == lead.owner_id:
            return f"lead #{lead.id}: the owner Leadbot has"
        if member and outbox_store.owner_written_near(
            session, system, lead.id, member, change.occurred_at, ECHO_WINDOW
        ):
            return f"lead #{lead.id}: Leadbot's own earlier write"
        if lead.assigned_at and lead.assigned_at > change.occurred_at:
            lead_store.log_activity(
                session, lead.id, clock.now(), "system", "crm_owner_change_superseded",
                crm_owner=change.owner_crm_id, occurred_at=change.occurred_at.isoformat(),
            )  # fmt: skip
            return f"lead #{lead.id}: older than Leadbot's own latest assignment"
        now = clock.now()
        # Leadbot's owner writes still queued are older decisions: the CRM's person has the last word.
        in_flight = outbox_store.supersede_owner_writes(
            session, system, lead.id, now, f"superseded: the owner was changed in {label}"
        )
        if member is None:
            _owner_outside_the_team(session, config, lead, now, label, change.owner_crm_id)
            return f"owner changed on lead #{lead.id} to someone outside the team"
        # A write of Leadbot's already on its way may land after the person's change: write theirs after it.
        reassign_lead(
            session, lead, config, now, actor="system", why=f"owner changed in {label}",
            to=(member, CHANGED_IN_THE_CRM), tell_crm=in_flight,
        )  # fmt: skip
        return f"owner changed on lead #{lead.id} to {member}"


def _owner_outside_the_team(session, config: Config, lead: Lead, now, label: str, crm_owner: str | None) -> None:
    """Given in the CRM to someone Leadbot does not route to: its clocks stop (it is theirs now), people are told."""
    stop_all_clocks(session, lead)
    lead_store.log_activity(session, lead.id, now, "system", "owner_left_the_team", crm_owner=crm_owner, crm=label)
    notice = owner_left_the_team(lead, label, crm_owner)
    delivery.send(session, Kind.ALERT_REPLY, now=now, lead_id=lead.id, message=notice)
    delivery.send(session, Kind.NOTE, now=now, lead_id=lead.id, to=config.channels.escalations, message=notice)
