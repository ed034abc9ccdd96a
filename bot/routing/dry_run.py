"""`leadbot route --dry-run leads.csv`: where the current config would send each lead, touching nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.config import Config
from bot.intake.accept import InvalidLead, accept_in, parse_lead
from bot.intake.csv_leads import LeadFile
from store.db import rolled_back_session


@dataclass
class DryRun:
    lines: list[str] = field(default_factory=list)
    per_rep: Counter = field(default_factory=Counter)
    per_rule: Counter = field(default_factory=Counter)
    rejected: int = 0


def simulate_routing(
    engine: Engine,
    config: Config,
    clock: Clock,
    path: str | Path,
    mapping: dict[str, str] | None = None,
    export: str | None = None,
) -> DryRun:
    """Run every row through the real intake and routing in one transaction, then roll it all back."""
    report, now = DryRun(), clock.now()
    with rolled_back_session(engine) as session:
        lead_file = LeadFile(path, mapping, export)
        for number, row, cells in lead_file.rows():
            try:
                if row is None:
                    raise InvalidLead(lead_file.overflow(cells))
                lead_in = parse_lead(row)
            except InvalidLead as exc:
                report.rejected += 1
                report.lines.append(f"row {number}: rejected ({exc})")
                continue
            result = accept_in(session, config, now, lead_in, alert=False)
            owner = config.member(result.lead.owner_id).name
            if not result.created:
                report.lines.append(f"row {number}: {lead_in.email} → {owner} (same person as an open lead: a touch)")
                continue
            report.per_rep[owner] += 1
            report.per_rule[result.rule] += 1
            report.lines.append(f"row {number}: {lead_in.email} → {owner} ({result.lead.routing_reason})")
    return report


def format_dry_run(report: DryRun) -> str:
    total = sum(report.per_rep.values())
    lines = [
        *report.lines,
        "",
        f"{total} new leads would be assigned; {report.rejected} rows rejected. Nothing was saved.",
    ]
    lines.append("Per rep:  " + ", ".join(f"{rep} {n}" for rep, n in report.per_rep.most_common()))
    lines.append("Per rule: " + ", ".join(f"{rule} {n}" for rule, n in report.per_rule.most_common()))
    return "\n".join(lines)
