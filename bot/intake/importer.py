"""`leadbot import leads.csv`: new leads through the same intake, in batches of rows.

Each row is all or nothing (its own savepoint inside its batch's transaction); a bad row is reported, written
to `<file>.rejected.csv` beside the input with its row number and reason, and the rest go on.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from bot.core.clock import Clock
from bot.core.config import Config
from bot.intake.accept import InvalidLead, LeadIn, accept_in, parse_lead
from bot.intake.bulk import accept_new_leads
from bot.intake.csv_leads import LeadFile, UnreadableCsv
from store.db import PlannerStatistics, write_session

log = logging.getLogger(__name__)

BATCH = 500  # rows per transaction: big enough to share a commit, small enough to hold the write lock briefly
SHOWN_REJECTIONS = 10
QUOTED = r"'[^']*'"
IMPORTED_TABLES = ["lead", "activity", "timer", "outbox"]  # what a batch looks up grows with the import
Row = tuple[int, dict, list[str]]  # row number, lead fields, the row's cells as written


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    duplicates: int = 0  # live import: the same person while their lead is open, logged as a touch
    already: int = 0  # backfill: the same CRM record or person already in Leadbot, left as it is
    rejected: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)  # the first few (row number, why)
    problems: Counter = field(default_factory=Counter)  # field → rejected rows, for the likely cause
    unknown_owners: Counter = field(default_factory=Counter)  # backfill: owners the team does not have
    rejects_path: Path | None = None
    likely_cause: str | None = None

    def reject(self, number: int, fields: dict[str, str]) -> str:
        why = ", ".join(f"{name}: {problem}" for name, problem in fields.items())
        self.rejected += 1
        # Counted by kind, without the row's own value, so that "every row failed the same way" can be seen.
        self.problems.update({f"{name}: {re.sub(QUOTED, '…', problem)}" for name, problem in fields.items()})
        if len(self.examples) < SHOWN_REJECTIONS:
            self.examples.append((number, why))
        return why


class RejectedRows:
    """`<input>.rejected.csv`: each rejected row as written, after its row number and reason (UTF-8 with a BOM,
    so Excel opens it right). Created at the first rejection; an earlier run's file is replaced."""

    def __init__(self, lead_file: LeadFile, report: ImportReport):
        self.lead_file, self.report = lead_file, report
        self.path = lead_file.path.with_name(f"{lead_file.path.stem}.rejected.csv")
        self.path.unlink(missing_ok=True)
        self._handle = self._writer = None

    def add(self, number: int, cells: list[str], fields: dict[str, str]) -> None:
        why = self.report.reject(number, fields)
        if self._writer is None:
            self._handle = open(self.path, "w", newline="", encoding="utf-8-sig")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["row", "reason", *self.lead_file.header])
            self.report.rejects_path = self.path
        self._writer.writerow([number, why, *cells])

    def close(self) -> None:
        if self._handle:
            self._handle.close()


def batches(
    lead_file: LeadFile, rejects: RejectedRows, progress: Callable[[int], None] | None, size: int = BATCH
) -> Iterator[list[Row]]:
    """The file's rows in lists of `size`; a row whose cells overflow the header is rejected on the way."""
    batch: list[Row] = []
    try:
        for number, lead, cells in lead_file.rows():
            rejects.report.rows += 1
            if lead is None:
                rejects.add(number, cells[: len(lead_file.header)], lead_file.overflow(cells))
            else:
                batch.append((number, lead, cells))
            if len(batch) >= size:
                yield batch
                batch = []
            if progress:
                progress(1)
    except UnreadableCsv:
        if batch:
            yield batch  # the rows before the unreadable one go in, each whole
        raise
    if batch:
        yield batch


def import_leads(
    engine: Engine,
    config: Config,
    clock: Clock,
    lead_file: LeadFile,
    *,
    alerts: bool,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH,
    one_by_one: bool = False,
) -> ImportReport:
    """New leads: routed, clocked and (with `alerts`) announced to their owners, as if they came in now. Each
    batch's new people go in set by set (bot.intake.bulk); `one_by_one` sends every row through the live
    intake alone instead (what the import did before; the tests and the benchmark compare the two)."""
    report = ImportReport()
    rejects = RejectedRows(lead_file, report)
    statistics = PlannerStatistics(engine, IMPORTED_TABLES)
    try:
        for batch in batches(lead_file, rejects, progress, batch_size):
            statistics.added_so_far(report.created)
            valid: list[tuple[int, LeadIn, list[str]]] = []
            for number, row, cells in batch:
                try:
                    valid.append((number, parse_lead(row), cells))
                except InvalidLead as exc:
                    rejects.add(number, cells, exc.fields)
            _accept_batch(engine, config, clock, valid, alerts, rejects, one_by_one)
    finally:
        rejects.close()
    report.likely_cause = likely_cause(report, lead_file)
    return report


def _accept_batch(engine, config, clock, valid, alerts: bool, rejects: RejectedRows, one_by_one: bool) -> None:
    report = rejects.report
    with write_session(engine) as session:
        rest = valid
        if not one_by_one:
            try:
                with session.begin_nested():
                    batch = accept_new_leads(session, config, clock.now(), [lead for _, lead, _ in valid], alert=alerts)
            except DBAPIError as exc:  # a live intake took one of these people meanwhile: row by row, then
                log.warning("import: a batch met %s; taking its rows one by one", type(exc.orig).__name__)
            else:
                report.created += batch.created
                again = {id(lead) for lead in batch.again}
                rest = [row for row in valid if id(row[1]) in again]
        for number, lead_in, cells in rest:
            try:
                with session.begin_nested():  # the row alone is undone if the database refuses it
                    result = accept_in(session, config, clock.now(), lead_in, alert=alerts)
            except DBAPIError as exc:
                rejects.add(number, cells, {"(database)": str(exc.orig).splitlines()[0][:200]})
                continue
            if result.created:
                report.created += 1
            else:
                report.duplicates += 1


def likely_cause(report: ImportReport, lead_file: LeadFile) -> str | None:
    """When every row failed the same way, what is probably wrong with the file rather than with each row."""
    if not report.rows or report.rejected < report.rows or len(report.problems) != 1:
        return None
    [problem] = report.problems
    if problem.startswith("email:"):
        return "the column read as the email holds no addresses: check --map, or the delimiter and the encoding."
    if problem.startswith("created_at: required"):
        return "the created date column is empty: a backfill keeps each record's own date, so it needs one."
    if problem.startswith(("created_at:", "first_touch_at:")):
        return "the dates are not in a form Leadbot reads: ISO 8601, 2026-11-20 10:03, 11/20/2026 (or --dayfirst)."
    if problem.startswith(("status:", "lifecycle_stage:")):
        return f"every row has a status Leadbot does not know ({problem}): --stage 'VALUE=stage' maps it."
    if problem.startswith("(row)"):
        return "every row has more cells than the header: is the delimiter inside unquoted values?"
    return f"every row failed on {problem.split(':')[0]}: {problem}"


def summary(report: ImportReport, *, backfill: bool = False) -> str:
    if backfill:
        head = f"{report.created} backfilled, {report.already} already in Leadbot (left as they are)"
    else:
        head = f"{report.created} created, {report.duplicates} duplicates (logged as touches)"
    lines = [f"{head}, {report.rejected} rejected, of {report.rows} rows."]
    lines += [f"  row {number}: {why}" for number, why in report.examples]
    if report.rejected > len(report.examples):
        lines.append(f"  ... and {report.rejected - len(report.examples)} more")
    if report.rejects_path:
        lines.append(f"Rejected rows, with their row number and reason: {report.rejects_path}")
    if report.likely_cause:
        lines.append(f"Likely cause: {report.likely_cause}")
    if report.unknown_owners:
        named = ", ".join(f"{name} ({count})" for name, count in report.unknown_owners.most_common(5))
        lines.append(
            f"Owners not on the Leadbot team, kept without an owner: {named}. A team member is found by Slack id, "
            "email, crm_owner_id or full name."
        )
    return "\n".join(lines)
