"""`leadbot import leads.csv`: backfill through the same intake, one transaction per row."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.intake.accept import InvalidLead, accept_in, parse_lead
from bot.intake.csv_leads import read_leads
from store.db import write_session


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (row number, why)

    def summary(self) -> str:
        lines = [
            f"{self.created} created, {self.duplicates} duplicates (logged as touches), {len(self.rejected)} rejected."
        ]
        lines += [f"  row {number}: {why}" for number, why in self.rejected]
        return "\n".join(lines)


def import_leads(
    engine: Engine,
    config: Config,
    clock: Clock,
    path: str | Path,
    *,
    mapping: dict[str, str],
    alerts: bool,
    progress: Callable[[int], None] | None = None,
    export: str | None = None,
) -> ImportReport:
    """Each row is all or nothing (its own transaction); a bad row is reported and the rest go on."""
    report = ImportReport()
    for done, (number, row) in enumerate(read_leads(path, mapping, export), start=1):
        try:
            lead_in = parse_lead(row)
        except InvalidLead as exc:
            report.rejected.append((number, str(exc)))
        else:
            with write_session(engine) as session:
                result = accept_in(session, config, clock.now(), lead_in, alert=alerts)
            if result.created:
                report.created += 1
            else:
                report.duplicates += 1
        if progress:
            progress(done)
    return report


def terminal_progress(total: int) -> Callable[[int], None]:
    """A one-line progress bar on stderr."""

    def show(done: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
