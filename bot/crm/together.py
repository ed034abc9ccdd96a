"""Writing many rows in a few calls: the CRM's batch APIs for a deep queue (an intake burst, an import, a mass
reassignment). HubSpot allows about 19 calls a second, so one call per lead caps write-back near 10 leads a
second; a batch writes 100 (HubSpot) or 200 (Salesforce) in a call.

Two kinds of row go together, each only for leads whose owner the CRM knows:
- new leads' records: looked up by email in one call, the missing ones created in one call, the found ones
  given their owner in one call;
- owner updates of leads whose record is known.
Anything else, and any row of a call the CRM refuses as a whole, goes one by one (CrmTarget.deliver), where
each row meets its own answer. A call whose answer was lost marks its rows in doubt, so their next attempt
goes one by one and looks before it creates.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from sqlalchemy.engine import Engine

from bot.crm.changes import Change
from bot.crm.records import CrmBusy, CrmConnector, CrmError, CrmRecord, CrmRefused, CrmUnavailable, RecordUpdate
from bot.delivery.relay import Outcome, TryAgain
from store import leads as lead_store
from store.db import read_session
from store.models import Lead, OutboxMessage


class CrmTarget(Protocol):
    """What a batch needs of the CRM target (bot/crm/target.py), which calls in here."""

    engine: Engine
    connector: CrmConnector

    def owner_update(self, lead: Lead, data: dict) -> RecordUpdate | None: ...

    def remember_records(self, found: list[tuple[Lead, CrmRecord]]) -> None: ...

    def outcome_of(self, error: Exception | None) -> Outcome: ...

    def pause(self, seconds: float) -> None: ...


Item = tuple[OutboxMessage, Lead, RecordUpdate]


def write_together(target: CrmTarget, rows: list[OutboxMessage]) -> dict[int, Outcome]:
    """Row id → outcome for the rows written in batch calls; rows not in the answer go one by one."""
    with read_session(target.engine) as session:
        leads = lead_store.get_leads(session, [r.lead_id for r in rows])
    new, known = [], []
    for row in rows:
        lead = leads.get(row.lead_id)
        if lead is None or lead.is_erased or row.method not in (Change.RECORD, Change.OWNER):
            continue
        if "owner" not in row.payload or (update := target.owner_update(lead, row.payload)) is None:
            continue  # no owner to write, or one the CRM does not know: one by one says why
        if lead.crm_record_id and lead.crm_record_url:
            known.append((row, lead, replace(update, lifecycle=None)))
        elif row.method == Change.RECORD:
            new.append((row, lead, update))
    outcomes: dict[int, Outcome] = {}
    if len(new) > 1:
        outcomes |= _guarded(target, new, lambda: _records(target, new), creates=True)
    if len(known) > 1:
        outcomes |= _guarded(target, known, lambda: _owners(target, known), creates=False)
    return outcomes


def _records(target: CrmTarget, items: list[Item]) -> dict[int, Outcome]:
    connector = target.connector
    found = connector.find_records([lead.email for _, lead, _ in items])
    existing = [(row, lead, update) for row, lead, update in items if lead.email.lower() in found]
    missing = [(row, lead, update) for row, lead, update in items if lead.email.lower() not in found]
    results: dict[int, CrmError | None] = {}
    records: list[tuple[Lead, CrmRecord]] = []
    if missing:
        created = connector.create_records([(lead, update) for _, lead, update in missing])
        for (row, lead, _), made in zip(missing, created, strict=True):
            if isinstance(made, CrmRecord):
                records.append((lead, made))
            results[row.id] = None if isinstance(made, CrmRecord) else made
    if existing:
        pairs = [(found[lead.email.lower()], replace(update, lifecycle=None)) for _, lead, update in existing]
        for (row, lead, _), (record, _), error in zip(existing, pairs, connector.update_records(pairs), strict=True):
            records.append((lead, record))
            results[row.id] = error
    target.remember_records(records)
    return {row_id: target.outcome_of(error) for row_id, error in results.items()}


def _owners(target: CrmTarget, items: list[Item]) -> dict[int, Outcome]:
    pairs = [(CrmRecord(lead.crm_record_id, lead.crm_record_type or "contact"), update) for _, lead, update in items]
    errors = target.connector.update_records(pairs)
    return {row.id: target.outcome_of(error) for (row, _, _), error in zip(items, errors, strict=True)}


def _guarded(target: CrmTarget, items: list[Item], write, *, creates: bool) -> dict[int, Outcome]:
    """The batch's outcomes, or what its failure as a whole means for each of its rows."""
    try:
        return write()
    except CrmBusy as busy:
        target.pause(busy.wait)
        return {row.id: TryAgain(str(busy), wait=busy.wait) for row, _, _ in items}
    except CrmUnavailable as down:
        # Records may have been created before the answer was lost: their next attempt looks first.
        return {row.id: TryAgain(str(down), in_doubt=creates and down.in_doubt) for row, _, _ in items}
    except CrmRefused:
        return {}  # one bad input spoils the call: one by one, each row meets its own answer
