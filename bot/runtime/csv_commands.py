"""`leadbot route --dry-run` and `leadbot import [--backfill]`: the commands that read a CSV of leads."""

from __future__ import annotations

import sys

from tqdm import tqdm

from bot.core.clock import SystemClock
from bot.core.config import ConfigError, load_config
from bot.core.settings import Settings
from bot.intake.backfill import backfill_leads
from bot.intake.csv_leads import FORMATS, LeadFile, UnreadableCsv
from bot.intake.history import status_key
from bot.intake.importer import BATCH, import_leads
from bot.intake.importer import summary as import_summary
from bot.routing.dry_run import format_dry_run, simulate_routing
from bot.runtime.app import prepare_database
from bot.runtime.console import fail
from store.db import make_engine
from store.migrate import SchemaOutdated, ensure_schema
from store.models import Stage


def add_csv_commands(commands) -> None:
    route = commands.add_parser("route", help="where the current config would send each lead of a CSV file")
    route.add_argument("--dry-run", action="store_true", help="simulate only (required)")
    route.add_argument("file", help="a CSV with a header row (intake field names, or a CRM's export)")
    route.set_defaults(run=cmd_route)
    importing = commands.add_parser(
        "import", help="new leads from a CSV file, or --backfill historic records (header row of column names)"
    )
    importing.add_argument("file")
    for command in (route, importing):
        command.add_argument(
            "--map",
            action="append",
            metavar="COLUMN=field",
            help="rename a CSV column to an intake field, e.g. --map 'E-mail=email'",
        )
        command.add_argument(
            "--format",
            choices=sorted(FORMATS),
            help="the CRM whose standard export this is (default: recognised from the header)",
        )
    importing.add_argument("--no-alerts", action="store_true", help="import without DMs to the owners")
    importing.add_argument(
        "--backfill",
        action="store_true",
        help="historic records: keep their created date, status, owner and first touch; no timers, no Slack",
    )
    importing.add_argument(
        "--batch-size", type=int, default=BATCH, metavar="ROWS", help=f"rows per transaction (default {BATCH})"
    )
    importing.add_argument("--dayfirst", action="store_true", help="read 05/03/2026 as 5 March (backfill dates)")
    importing.add_argument(
        "--stage", action="append", metavar="VALUE=stage", help="the stage of a CRM status value (backfill)"
    )
    importing.set_defaults(run=cmd_import)


def cmd_route(settings: Settings, args) -> int:
    """Simulate routing for a CSV of leads with the current config and database, saving nothing."""

    if not args.dry_run:
        return fail("`leadbot route` only simulates for now: add --dry-run")
    try:
        config = load_config(settings.config_path)
        engine = make_engine(settings.database_url)
        ensure_schema(engine)  # nothing else is written: the team and rotation rows are left as they are
    except (ConfigError, SchemaOutdated) as exc:
        return fail(str(exc))
    mapping = _column_map(args.map)
    if isinstance(mapping, str):
        return fail(mapping)
    try:
        print(format_dry_run(simulate_routing(engine, config, SystemClock(), args.file, mapping, args.format)))
    except FileNotFoundError:
        return fail(f"{args.file}: no such file")
    except UnreadableCsv as exc:
        return fail(f"{args.file}: {exc}", code=1)
    return 0


def _column_map(pairs: list[str] | None) -> dict[str, str] | str:
    """--map COLUMN=field flags as a mapping, or what is wrong with one."""
    mapping = {}
    for pair in pairs or []:
        column, _, field = pair.partition("=")
        if not column or not field:
            return f"--map takes COLUMN=field, got {pair!r}"
        mapping[column] = field
    return mapping


def cmd_import(settings: Settings, args) -> int:
    """New leads from a CSV file through the same intake (with or without their DMs), or a --backfill of
    historic records that keep their dates, stages, owners and first touches and page nobody."""

    mapping, stages = _column_map(args.map), _stage_map(args.stage)
    if isinstance(mapping, str) or isinstance(stages, str):
        return fail(mapping if isinstance(mapping, str) else stages)
    try:
        config = load_config(settings.config_path)
        engine = make_engine(settings.database_url)
        prepare_database(engine, config)
        lead_file = LeadFile(args.file, mapping, args.format, history=args.backfill)
        total = lead_file.count_rows()
    except (ConfigError, SchemaOutdated) as exc:
        return fail(str(exc))
    except FileNotFoundError:
        return fail(f"{args.file}: no such file")
    except UnreadableCsv as exc:
        return fail(f"{args.file}: {exc}", code=1)
    with tqdm(total=total, unit="row", disable=None, file=sys.stderr) as bar:
        try:
            if args.backfill:
                report = backfill_leads(engine, config, SystemClock(), lead_file, dayfirst=args.dayfirst,
                                        stages=stages, progress=bar.update, batch_size=args.batch_size)  # fmt: skip
            else:
                report = import_leads(engine, config, SystemClock(), lead_file, alerts=not args.no_alerts,
                                      progress=bar.update, batch_size=args.batch_size)  # fmt: skip
        except UnreadableCsv as exc:  # past the header: the rows before it are in, each whole
            return fail(f"{args.file}: {exc}", code=1)
    print(import_summary(report, backfill=args.backfill))
    if not args.backfill and not args.no_alerts and report.created:
        print("DMs for the new leads are queued; a running `leadbot serve` or `leadbot worker` sends them.")
    return 1 if report.rejected else 0


def _stage_map(pairs: list[str] | None) -> dict[str, Stage] | str:
    """--stage VALUE=stage flags (a CRM's own status → Leadbot's stage), or what is wrong with one."""
    stages = {}
    for pair in pairs or []:
        value, _, stage = pair.rpartition("=")
        named = status_key(stage)
        if not value or named not in Stage._value2member_map_:
            return f"--stage takes VALUE=stage with a stage among {', '.join(Stage)}, got {pair!r}"
        stages[status_key(value)] = Stage(named)
    return stages
