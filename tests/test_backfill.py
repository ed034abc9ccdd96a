"""`leadbot import --backfill`: historic records keep their dates, stages, owners and first touches, start no
timer, send nothing to Slack, count in /leadstats for their own dates, and a second run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.core.clock import SystemClock
from bot.core.config import load_config
from bot.runtime.cli import main
from store.db import read_session
from store.models import Activity, Lead, OutboxMessage, Timer
from tests.conftest import MINIMAL_CONFIG, count

NEW_YORK = ZoneInfo("America/New_York")  # MINIMAL_CONFIG's zone: a Create Date without a zone is in it
TEAM = MINIMAL_CONFIG.replace(
    "{slack_id: U0SDR2, name: Ana Silva, role: sdr}",
    "{slack_id: U0SDR2, name: Ana Silva, role: sdr, email: ana@ours.io}",
)


def _days_ago(days: int, hour: int, minute: int = 0) -> datetime:
    """A local time some days back (on a weekday morning, so that the numbers read plainly)."""
    day = datetime.now(NEW_YORK) - timedelta(days=days)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def _hubspot_export() -> str:
    """Shaped like HubSpot's contact export with the history columns an admin adds: Create Date (no zone),
    Lead Status, Lifecycle Stage, Contact owner (a name) and the first outreach date."""
    jo, kai, lu, mo = _days_ago(12, 9), _days_ago(11, 10), _days_ago(10, 11), _days_ago(3, 14)
    rows = [
        ("701", "Jo", "jo@acme.io", "Attempted to contact", "Lead", "Sam Rivera", jo, jo + timedelta(minutes=9)),
        ("702", "Kai", "kai@globex.com", "Open Deal", "Opportunity", "Ana Silva", kai, kai + timedelta(hours=2)),
        ("703", "Lu", "lu@initech.com", "Unqualified", "Lead", "Pat Gone", lu, None),
        ("704", "Mo", "mo@umbrella.com", "New", "Marketing Qualified Lead", "Sam Rivera", mo, None),
    ]  # fmt: skip
    lines = ["Record ID,First Name,Email,Lead Status,Lifecycle Stage,Contact owner,Create Date,First outreach date"]
    for record, name, email, status, lifecycle, owner, at, touched in rows:
        touch = touched.strftime("%Y-%m-%d %H:%M") if touched else ""
        lines.append(f"{record},{name},{email},{status},{lifecycle},{owner},{at:%Y-%m-%d %H:%M},{touch}")
    return "\r\n".join(lines) + "\r\n"


def _backfill(tmp_path, monkeypatch, database_url, text: str, *flags: str, name: str = "contacts.csv") -> int:
    (tmp_path / "leadbot.yml").write_text(TEAM)
    (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("LEADBOT_CONFIG", str(tmp_path / "leadbot.yml"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return main(["import", name, "--backfill", *flags])


def test_a_backfill_keeps_history_starts_no_timer_and_sends_nothing(
    tmp_path, monkeypatch, database_url, engine, capsys
):
    code = _backfill(tmp_path, monkeypatch, database_url, _hubspot_export())

    out = capsys.readouterr().out
    assert code == 0, out
    assert "4 backfilled, 0 already in Leadbot (left as they are), 0 rejected, of 4 rows." in out
    assert "Owners not on the Leadbot team, kept without an owner: Pat Gone (1)" in out
    assert count(engine, Timer) == 0 and count(engine, OutboxMessage) == 0  # no clock, no Slack, no CRM write
    with read_session(engine) as session:
        leads = {lead.email: lead for lead in session.exec(select(Lead)).all()}
        kinds = {(a.lead_id, a.kind) for a in session.exec(select(Activity)).all()}
    jo, kai, lu, mo = (leads[e] for e in ("jo@acme.io", "kai@globex.com", "lu@initech.com", "mo@umbrella.com"))
    assert jo.created_at == _days_ago(12, 9).astimezone(UTC)  # the file's local time, in the team's zone
    assert (jo.stage, jo.is_open, jo.owner_id, jo.first_touch_seconds) == ("attempting_contact", True, "U0SDR1", 540)
    assert jo.first_touch_at <= jo.first_touch_due_at  # within the 15-minute SLA, as the report will count it
    assert (kai.stage, kai.is_open, kai.owner_id, kai.reached_opportunity) == ("accepted", False, "U0SDR2", True)
    assert kai.lifecycle_stage == "opportunity" and kai.reached_sql and kai.first_touch_at > kai.first_touch_due_at
    assert (lu.stage, lu.is_open, lu.owner_id, lu.extra["crm_owner"]) == ("disqualified", False, None, "Pat Gone")
    assert (mo.stage, mo.is_open, mo.first_touch_at, mo.reached_mql) == ("new", True, None, True)
    assert (kai.id, "accepted") in kinds and (lu.id, "disqualified") in kinds and (jo.id, "touch") in kinds
    assert jo.crm_record_id is None and jo.external_id == "701"


def test_backfilled_leads_count_in_leadstats_for_their_own_dates(tmp_path, monkeypatch, database_url, engine, capsys):
    _backfill(tmp_path, monkeypatch, database_url, _hubspot_export())
    capsys.readouterr()

    def report(period: str) -> str:
        assert main(["stats", period]) == 0
        return capsys.readouterr().out

    last_week, month, today = report("7d"), report("30d"), report("today")
    assert "Leads in: 1 " in last_week  # Mo, three days ago; the other three are older than a week
    assert "Leads in: 4 " in month and "SLA compliance 25%" in month  # Jo within the SLA, of the four
    assert "median 9m, p90 2h" in month and "Lead → MQL 50% · lead → SQL 25%" in month  # Jo and Kai; Kai's deal
    assert "• @Sam Rivera: 2 · 9m · 50%" in month and "• @Ana Silva: 1 · 2h · 0% · 1 · 100%" in month
    assert "<@>" not in month and "no leads came in" in today


def test_running_the_same_backfill_again_changes_nothing(tmp_path, monkeypatch, database_url, engine, capsys):
    _backfill(tmp_path, monkeypatch, database_url, _hubspot_export())
    with read_session(engine) as session:
        before = [(lead.id, lead.stage, lead.owner_id) for lead in session.exec(select(Lead).order_by(Lead.id))]
    activities = count(engine, Activity)

    code = _backfill(tmp_path, monkeypatch, database_url, _hubspot_export())

    assert code == 0 and "0 backfilled, 4 already in Leadbot" in capsys.readouterr().out
    with read_session(engine) as session:
        after = [(lead.id, lead.stage, lead.owner_id) for lead in session.exec(select(Lead).order_by(Lead.id))]
    assert after == before and count(engine, Activity) == activities


def test_salesforce_statuses_us_dates_and_owner_emails(tmp_path, monkeypatch, database_url, engine, capsys):
    export = (
        "Lead ID;First Name;Email;Company;Lead Status;Lead Owner Email;Created Date\r\n"
        "00Q1;Ana;ana.c@telefonica.es;Telefónica;Working - Contacted;ana@ours.io;11/20/2026 10:03 AM\r\n"
        "00Q2;Rui;rui@edp.pt;EDP;Closed - Not Converted;ANA@ours.io;11/21/2026 4:30 PM\r\n"
        "00Q3;Eva;eva@sap.de;SAP;Nurturing;ana@ours.io;11/22/2026 9:00 AM\r\n"
    )

    code = _backfill(tmp_path, monkeypatch, database_url, export, name="leads.csv")

    out = capsys.readouterr().out
    assert code == 1 and "2 backfilled" in out and "1 rejected" in out
    assert "row 4: status: 'Nurturing' is not a status Leadbot knows: --stage 'Nurturing=engaged' names it" in out
    with read_session(engine) as session:
        leads = {lead.email: lead for lead in session.exec(select(Lead)).all()}
    assert leads["ana.c@telefonica.es"].created_at == datetime(2026, 11, 20, 15, 3, tzinfo=UTC)  # 10:03 EST
    assert [(lead.stage, lead.owner_id) for lead in leads.values()] == [
        ("attempting_contact", "U0SDR2"), ("disqualified", "U0SDR2")
    ]  # fmt: skip

    code = _backfill(tmp_path, monkeypatch, database_url, export, "--stage", "Nurturing=engaged", name="leads.csv")

    assert code == 0 and "1 backfilled, 2 already in Leadbot" in capsys.readouterr().out
    with read_session(engine) as session:
        eva = session.exec(select(Lead).where(Lead.email == "eva@sap.de")).one()
    assert (eva.stage, eva.is_open) == ("engaged", True)


def test_a_file_without_a_created_date_is_refused_before_any_row(tmp_path, monkeypatch, database_url, engine, capsys):
    code = _backfill(tmp_path, monkeypatch, database_url, "Email,Name\na@b.io,A\nc@d.io,C\n")

    err = capsys.readouterr().err
    assert code == 1 and count(engine, Lead) == 0
    assert "contacts.csv: no column is the created date: the columns are 'Email', 'Name'." in err
    assert "Name it with --map 'COLUMN=created_at'." in err


def test_dates_no_one_can_read_name_the_likely_cause(tmp_path, monkeypatch, database_url, engine, capsys):
    code = _backfill(tmp_path, monkeypatch, database_url, "Email,Create Date\na@b.io,yesterday-ish\nc@d.io,soon\n")

    out = capsys.readouterr().out
    assert code == 1 and "0 backfilled" in out and "2 rejected, of 2 rows" in out and count(engine, Lead) == 0
    assert "row 2: created_at: 'yesterday-ish' is not a date" in out
    assert "Likely cause: the dates are not in a form Leadbot reads" in out


def test_a_person_with_an_open_backfilled_lead_who_comes_in_again_is_a_resubmission(
    tmp_path, monkeypatch, database_url, engine, capsys
):
    from bot.intake.accept import accept_lead, parse_lead

    _backfill(tmp_path, monkeypatch, database_url, _hubspot_export())
    config = load_config(str(tmp_path / "leadbot.yml"))

    result = accept_lead(engine, config, SystemClock(), parse_lead({"email": "jo@acme.io"}))

    assert not result.created and result.lead.email == "jo@acme.io"  # the one open lead per person
    assert count(engine, Lead) == 4 and count(engine, Timer) == 0  # still no clock on a historic lead
    with read_session(engine) as session:
        assert session.exec(select(Activity.lead_id).where(Activity.kind == "resubmitted")).all() == [result.lead.id]
