"""`leadbot import --backfill`: historic records kept as the CRM had them, counted in /leadstats for their dates.

A backfilled lead keeps its created date, stage, owner and first touch; it starts no timer, sends nothing to
Slack and writes nothing to the CRM (it came from there). Re-running the same file changes nothing: a record
is already here when its CRM id is, or (without an id) when its email is. Rows go in batches: one query for
what is already here, one multi-row insert of leads and one of their activity log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.crm import changes as crm
from bot.intake.accept import InvalidLead, LeadIn, lead_values, normalise_email, parse_lead
from bot.intake.csv_leads import LeadFile
from bot.intake.history import LIFECYCLE_ORDER, History, HistoryReader, reached
from bot.intake.importer import BATCH, IMPORTED_TABLES, ImportReport, RejectedRows, batches, likely_cause
from bot.lifecycle.touches import time_to_touch
from bot.sla import clocks as sla
from store import backfill as backfill_store
from store.db import PlannerStatistics, write_session
from store.models import Stage

Record = tuple[int, LeadIn, History, list[str]]


def backfill_leads(
    engine: Engine,
    config: Config,
    clock: Clock,
    lead_file: LeadFile,
    *,
    dayfirst: bool = False,
    stages: dict[str, Stage] | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH,
) -> ImportReport:
    report = ImportReport()
    rejects = RejectedRows(lead_file, report)
    reader = HistoryReader(config, clock.now(), dayfirst=dayfirst, stages=stages)
    source = lead_file.export or "import"
    statistics = PlannerStatistics(engine, IMPORTED_TABLES)
    try:
        for batch in batches(lead_file, rejects, progress, batch_size):
            statistics.added_so_far(report.created)
            records: list[Record] = []
            for number, row, cells in batch:
                try:
                    history = reader.read(row)
                    records.append((number, parse_lead(row), history, cells))
                except InvalidLead as exc:
                    rejects.add(number, cells, exc.fields)
                    continue
                if history.owner_named and history.owner_id is None:
                    report.unknown_owners[history.owner_named] += 1
            _write_batch(engine, config, records, report, source)
    finally:
        rejects.close()
    report.likely_cause = likely_cause(report, lead_file)
    return report


def _write_batch(engine: Engine, config: Config, records: list[Record], report: ImportReport, source: str) -> None:
    emails = {normalise_email(lead_in.email) for _, lead_in, _, _ in records}
    ids = {str(lead_in.external_id) for _, lead_in, _, _ in records if lead_in.external_id is not None}
    with write_session(engine) as session:
        known = backfill_store.known_leads(session, emails, ids)
        leads, logs = [], []
        for _, lead_in, history, _ in records:
            email, external_id = normalise_email(lead_in.email), lead_in.external_id
            here = str(external_id) in known.external_ids if external_id is not None else email in known.emails
            if here or (history.is_open and email in known.open_emails):
                report.already += 1  # this record, or the person's open lead (one open lead per person)
                continue
            lead, log = historic_lead(lead_in, history, config, source)
            leads.append(lead)
            logs.append(log)
            known.emails.add(email)
            if external_id is not None:
                known.external_ids.add(str(external_id))
            if lead["is_open"]:
                known.open_emails.add(email)
        backfill_store.insert_history(session, leads, logs)
    report.created += len(leads)


def historic_lead(data: LeadIn, history: History, config: Config, source: str) -> tuple[dict, list[dict]]:
    """The lead's row as it was, and the activity log that says so (store.report_facts rebuilds the same facts)."""
    created = history.created_at
    lead = lead_values(data, config, created)
    owner = history.owner_id
    lead |= {"owner_id": owner, "stage": history.stage, "is_open": history.is_open}
    lead["routing_reason"] = f"Owner in the CRM: {history.owner_named}" if history.owner_named else None
    lead["first_touch_due_at"] = sla.first_touch_due_for(config, owner, lead["hot"], created)
    lead["crm_record_id"], lead["crm_record_type"] = crm.record_from_source(config, lead["external_id"]) or (None, None)
    lead["extra"] |= {"backfilled": True} | ({"crm_status": history.status} if history.status else {})
    if history.owner_named and owner is None:
        lead["extra"]["crm_owner"] = history.owner_named
    lead["reached_mql"] = reached(history, "mql") or lead["lifecycle_stage"] == "mql"
    lead["reached_sql"], lead["reached_opportunity"] = reached(history, "sql"), reached(history, "opportunity")
    furthest = max(LIFECYCLE_ORDER.index(lead["lifecycle_stage"]), LIFECYCLE_ORDER.index(history.lifecycle))
    lead["lifecycle_stage"] = LIFECYCLE_ORDER[furthest]

    log = [_logged(created, "created", source=lead["lead_source"], backfilled_from=source)]
    if owner:
        log.append(_logged(created, "assigned", owner=owner, reason=lead["routing_reason"]))
    if history.first_touch_at:
        log.append(_first_touch(lead, config, history.first_touch_at, source))
    last = lead["last_activity_at"]
    if lead["reached_mql"]:
        log.append(_logged(created, "mql", score=lead["score"]))
    if lead["reached_sql"]:
        log.append(_logged(last, "handed_off", ae=None, reason="backfilled"))
    if lead["reached_opportunity"]:
        log.append(_logged(last, "accepted", backfilled=True))
    if history.stage == Stage.DISQUALIFIED:
        log.append(_logged(last, "disqualified", reason=history.status or "backfilled", notes=""))
    return lead, log


def _first_touch(lead: dict, config: Config, at: datetime, source: str) -> dict:
    facts = time_to_touch(config, lead["owner_id"], lead["created_at"], at)
    by = lead["owner_id"] or "outside"
    for moment in ("first", "last"):
        lead |= {f"{moment}_touch_at": at, f"{moment}_touch_by": by, f"{moment}_touch_via": "other",
                 f"{moment}_touch_source": source}  # fmt: skip
    lead |= {"confirmed_touch_at": at, "touch_count": 1, "last_activity_at": max(at, lead["created_at"])}
    lead["first_touch_seconds"] = facts["seconds_to_first_touch"]
    lead["first_touch_business_seconds"] = facts["business_seconds_to_first_touch"]
    return _logged(at, "touch", first=True, number=1, via="other", source=source, **facts)


def _logged(at: datetime, kind: str, **data) -> dict:
    return {"at": at, "actor": "backfill", "kind": kind, "data": data}
