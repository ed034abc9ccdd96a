"""The `leadbot` command: serve, demo, migrate, check-config."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from dotenv import load_dotenv

from bot.core.clock import SystemClock
from bot.core.config import ConfigError, load_config
from bot.core.logs import configure_logging, mask_personal_data
from bot.core.settings import Settings
from bot.crm.connect import CrmNotConfigured, connect_crm, crm_problems
from bot.crm.records import CrmError
from bot.devtools.demo import run_demo
from bot.lifecycle.erasure import forget_person
from bot.reports.leadstats import UsageError, help_text, parse_request, report_text, write_csv
from bot.routing.config_checks import routing_warnings
from bot.runtime.app import build_leadbot
from bot.runtime.console import fail
from bot.runtime.csv_commands import add_csv_commands
from bot.runtime.server import make_http_server
from bot.slack.plain_text import mrkdwn_to_plain
from store.db import make_engine, write_session
from store.migrate import SchemaOutdated, current_revision, ensure_schema, upgrade
from store.outbox import retry_failed
from store.report_facts import rebuild_facts


def cmd_check_config(settings: Settings, _args) -> int:
    try:
        config = load_config(settings.config_path)
    except ConfigError as exc:
        return fail(str(exc))
    roles = {role: len(config.members_with_role(role)) for role in ("sdr", "ae", "manager")}
    print(
        f"{settings.config_path}: OK ({roles['sdr']} SDRs, {roles['ae']} AEs, {roles['manager']} managers; "
        f"first touch {config.sla.first_touch}, hot {config.sla.first_touch_hot})"
    )
    for warning in routing_warnings(config):
        print(f"warning: {warning}")
    return _check_crm(settings, config)


def _check_crm(settings: Settings, config) -> int:
    """With a CRM configured and its credentials set: the token, each member's owner, each stamp property."""
    if config.crm is None:
        return 0
    try:
        connector = connect_crm(settings, config)
        problems = crm_problems(connector, config)
    except CrmNotConfigured as exc:
        print(f"CRM: not checked: {exc}")
        return 0
    except CrmError as exc:
        return fail(f"CRM: {exc}")
    for problem in problems:
        print(f"CRM: {problem}")
    if problems:
        print("CRM: leads routed to a member who is not an owner are flagged to the managers, not lost.")
        return 1
    print(f"CRM: OK ({connector.label}: token valid, every member is an owner, every stamp property exists)")
    return 0


def cmd_migrate(settings: Settings, _args) -> int:

    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    print(f"Database schema: {before or 'empty'} → {current_revision(engine)}")
    return 0


class StartupError(Exception):
    """Something to fix before Leadbot can run; the message says what."""


def _build(settings: Settings, missing: list[str]):
    """Config, then settings, then the database: the first problem stops start-up with one message."""

    try:
        config = load_config(settings.config_path)
    except ConfigError as exc:
        raise StartupError(str(exc)) from None
    if missing:
        raise StartupError(f"set {', '.join(missing)} (see .env.example), or try `leadbot demo` without Slack")
    try:
        return build_leadbot(settings, config)
    except SchemaOutdated as exc:
        raise StartupError(str(exc)) from None


def cmd_serve(settings: Settings, args) -> int:

    # Request threads share the interpreter with the relay and the sweep; handing the GIL over every
    # 1 ms instead of 5 ms keeps a waiting request from queueing behind a busy background thread.
    sys.setswitchinterval(0.001)

    try:
        leadbot = _build(settings, settings.missing_for_serve())
    except StartupError as exc:
        return fail(str(exc))
    if settings.slack_app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler
        from slack_sdk.errors import SlackApiError, SlackClientError

        try:
            SocketModeHandler(leadbot.bolt, settings.slack_app_token).connect()
        except SlackApiError as exc:
            return fail(
                f"Socket Mode could not connect: Slack answered {exc.response.get('error')!r} "
                "(check SLACK_APP_TOKEN: an xapp- token with connections:write)"
            )
        except (SlackClientError, OSError) as exc:
            return fail(f"Socket Mode could not connect: {exc}")
        logging.info("Socket Mode connected; Slack events arrive over the socket, intake stays on HTTP")
    leadbot.start(sweep=not args.no_sweep, background=not args.no_sweep)
    server = make_http_server(leadbot.web, host=args.host, port=settings.port)
    logging.info(
        "Leadbot serving on %s:%s (POST /leads, POST /slack/events, GET /healthz)", args.host, server.effective_port
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        leadbot.stop()
    return 0


def cmd_worker(settings: Settings, _args) -> int:
    """The SLA sweep and the outbox relay without the HTTP server, for a separate Procfile process."""
    import threading

    try:
        leadbot = _build(settings, [] if settings.slack_bot_token else ["SLACK_BOT_TOKEN"])
    except StartupError as exc:
        return fail(str(exc))
    leadbot.start(sweep=True)
    logging.info("Leadbot worker: SLA sweep every %s, outbox relay running", leadbot.config.scheduler.sweep_every)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        leadbot.stop()
    return 0


def cmd_forget(settings: Settings, args) -> int:
    """Erase a person's data (GDPR erasure); the anonymous counts stay for /leadstats."""

    try:
        engine = make_engine(settings.database_url)
        ensure_schema(engine)
    except SchemaOutdated as exc:
        return fail(str(exc))
    erasure = forget_person(engine, SystemClock(), args.email)
    who = mask_personal_data(args.email.strip().lower())
    if not erasure.lead_ids:
        print(f"No lead has the address {who}; nothing to erase.")
        return 0
    listed = ", ".join(f"#{lead_id}" for lead_id in erasure.lead_ids)
    closed = f" ({len(erasure.closed)} still open, now closed)" if erasure.closed else ""
    print(
        f"Erased the personal data of {len(erasure.lead_ids)} lead(s) of {who}: {listed}{closed}. "
        "Their anonymous counts stay in /leadstats; their Slack alerts are redrawn without it once sent."
    )
    return 0


def cmd_stats(settings: Settings, args) -> int:
    """The /leadstats report in the terminal (as a manager sees it), or its per-lead rows as CSV."""

    try:
        config = load_config(settings.config_path)
        engine = make_engine(settings.database_url)
        ensure_schema(engine)
    except (ConfigError, SchemaOutdated) as exc:
        return fail(str(exc))
    if args.rebuild:
        with write_session(engine) as session:
            rebuild_facts(session)
        print("Report facts recomputed from the activity log; the worker folds them into the rollup.")
        return 0
    viewer = next((m.slack_id for m in config.members_with_role("manager")), config.routing.fallback)
    now = SystemClock().now()
    try:
        # In a terminal a rep is written @U0SDR1; Slack sends <@U0SDR1>.
        words = [f"<{w}>" if w.startswith("@") else w for w in args.words]
        request = parse_request(" ".join(words), viewer, config, now)
    except UsageError as exc:
        return fail(mrkdwn_to_plain(str(exc)))
    if request is None:
        print(mrkdwn_to_plain(help_text()))
        return 0
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as out:
            count = write_csv(engine, request, out)
        print(f"{count} leads written to {args.csv}")
        return 0
    names = {m.slack_id: m.name for m in config.team}
    print(mrkdwn_to_plain(report_text(engine, config, request, now), names))
    return 0


def cmd_outbox_retry(settings: Settings, args) -> int:
    """Send failed deliveries again once their cause is fixed (an owner mapped, a validation rule changed)."""
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    with write_session(engine) as session:
        count = retry_failed(session, SystemClock().now(), args.target)
    print(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again; a running Leadbot sends them now.")
    return 0


def cmd_demo(_settings: Settings, _args) -> int:

    return run_demo(crm=_args.crm)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadbot", description="Speed-to-lead for B2B sales teams, in Slack.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server (and Socket Mode when SLACK_APP_TOKEN is set)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument(
        "--no-sweep",
        action="store_true",
        help="leave the SLA sweep, CRM write-back and redraws to `leadbot worker` processes",
    )
    serve.set_defaults(run=cmd_serve)
    commands.add_parser("worker", help="run the SLA sweep and the outbox relay alone").set_defaults(run=cmd_worker)
    add_csv_commands(commands)
    stats = commands.add_parser("stats", help="the /leadstats report in the terminal, or --csv for its rows")
    stats.add_argument("words", nargs="*", help="the same arguments as /leadstats: period and scope")
    stats.add_argument("--csv", metavar="FILE", help="write the per-lead rows behind the report")
    stats.add_argument(
        "--rebuild", action="store_true", help="recompute every lead's report figures from the activity log"
    )
    stats.set_defaults(run=cmd_stats)
    outbox = commands.add_parser("outbox", help="the delivery queue (Slack and the CRM)")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True)
    retry = outbox_commands.add_parser("retry", help="send failed deliveries again after fixing their cause")
    retry.add_argument("--target", choices=["slack", "hubspot", "salesforce"], help="only these (default: all)")
    retry.set_defaults(run=cmd_outbox_retry)
    demo = commands.add_parser("demo", help="the whole flow locally, with Slack (and a CRM) simulated")
    demo.add_argument("--crm", choices=["hubspot", "salesforce"], help="also write back to a simulated CRM")
    demo.set_defaults(run=cmd_demo)
    commands.add_parser("migrate", help="create or upgrade the database schema").set_defaults(run=cmd_migrate)
    forget = commands.add_parser("forget", help="erase a person's data (GDPR), keeping the anonymous counts")
    forget.add_argument("email", help="the person's email address")
    forget.set_defaults(run=cmd_forget)
    commands.add_parser("check-config", help="validate the config file and say what is wrong").set_defaults(
        run=cmd_check_config
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    load_dotenv()
    configure_logging(os.environ.get("LEADBOT_LOG_FORMAT", "text").strip().lower())
    args = build_parser().parse_args(argv)
    # Migration chatter is noise at start-up; the demo prints its own story.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "demo":
        logging.getLogger().setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        return fail(str(exc))
    return args.run(settings, args)


if __name__ == "__main__":
    sys.exit(main())
