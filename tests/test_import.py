"""`leadbot import leads.csv`: good rows in, bad rows reported by number, duplicates as touches."""

from __future__ import annotations

import csv

from sqlmodel import select

from bot.runtime.cli import main
from store.db import make_engine, read_session
from store.models import Activity, Lead, OutboxMessage
from tests.conftest import MINIMAL_CONFIG

CSV = (
    """E-mail,First name,company,Demo?,pages_visited,company_size
ann@acme.io,Ann,Acme,yes,/pricing;/docs,120
bo@globex.com,Bo,Globex,no,,
not-an-email,Cy,,,,
dee@initech.com,Dee,Initech,maybe,,
ANN@acme.io,Ann again,,,,
eve@umbrella.com,Eve,"""
    + "U" * 301
    + """,,,
"""
)


def _run(tmp_path, monkeypatch, *extra):
    (tmp_path / "leadbot.yml").write_text(MINIMAL_CONFIG)
    (tmp_path / "leads.csv").write_text(CSV)
    database = f"sqlite:///{tmp_path / 'import.db'}"
    monkeypatch.setenv("LEADBOT_CONFIG", str(tmp_path / "leadbot.yml"))
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "import",
            "leads.csv",
            "--map",
            "E-mail=email",
            "--map",
            "First name=first_name",
            "--map",
            "Demo?=demo_request",
            *extra,
        ]
    )
    return code, make_engine(database)


def test_import_creates_good_rows_reports_bad_ones_and_logs_duplicates(tmp_path, monkeypatch, capsys):
    code, engine = _run(tmp_path, monkeypatch)

    out, err = capsys.readouterr()
    assert code == 1  # some rows were rejected
    assert "2 created, 1 duplicates (logged as touches), 3 rejected, of 6 rows." in out
    assert "  row 4: email:" in out and "  row 5: demo_request:" in out and "  row 7: company:" in out
    assert "Rejected rows, with their row number and reason: leads.rejected.csv" in out
    assert "Likely cause" not in out  # the rows fail in different ways: nothing wrong with the file as such
    # Beside the input, as written plus their row number and reason, ready to fix and import again.
    rejected = list(csv.reader((tmp_path / "leads.rejected.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert rejected[0] == ["row", "reason", "E-mail", "First name", "company", "Demo?", "pages_visited", "company_size"]
    assert [(row[0], row[1].split(":")[0], row[2]) for row in rejected[1:]] == [
        ("4", "email", "not-an-email"), ("5", "demo_request", "dee@initech.com"), ("7", "company", "eve@umbrella.com")
    ]  # fmt: skip
    with read_session(engine) as session:
        leads = session.exec(select(Lead).order_by(Lead.id)).all()
        resubmitted = session.exec(select(Activity).where(Activity.kind == "resubmitted")).all()
        alerts = session.exec(select(OutboxMessage).where(OutboxMessage.ref == "alert")).all()
    assert [(lead.email, lead.demo_request, lead.pages_visited) for lead in leads] == [
        ("ann@acme.io", True, ["/pricing", "/docs"]),
        ("bo@globex.com", False, []),
    ]
    assert len(resubmitted) == 1 and len(alerts) == 2


def test_import_without_alerts_queues_no_dms(tmp_path, monkeypatch, capsys):
    _, engine = _run(tmp_path, monkeypatch, "--no-alerts")

    with read_session(engine) as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.ref == "alert")).all() == []
        assert len(session.exec(select(Lead)).all()) == 2


def test_a_bad_mapping_or_missing_file_is_named(tmp_path, monkeypatch, capsys):
    (tmp_path / "leadbot.yml").write_text(MINIMAL_CONFIG)
    monkeypatch.setenv("LEADBOT_CONFIG", str(tmp_path / "leadbot.yml"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.chdir(tmp_path)

    assert main(["import", "nope.csv"]) == 2
    assert main(["import", "nope.csv", "--map", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert "nope.csv: no such file" in err and "--map takes COLUMN=field" in err


def test_a_duplicate_row_imported_without_alerts_tells_the_owner_in_a_dm_of_its_own(tmp_path, monkeypatch, fake_slack):
    from bot.core.clock import SystemClock
    from bot.core.config import load_config
    from bot.runtime.app import make_relay
    from bot.slack.client import make_web_client

    _, engine = _run(tmp_path, monkeypatch, "--no-alerts")
    config = load_config(str(tmp_path / "leadbot.yml"))
    client = make_web_client(fake_slack.bot_token, fake_slack.base_url)
    relay = make_relay(engine, client, SystemClock(), config)  # the import ran on the system clock

    while relay.deliver_due():
        pass

    with read_session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.method == "chat.postMessage")).all()
    assert [(r.failed, r.sent_at is not None) for r in rows] == [(False, True)]  # sent, not "could not deliver"
    [dm] = fake_slack.messages_in("D0SDR1")
    assert "Ann came in again" in dm["text"] and "(Lead #1)" in dm["text"] and not dm["thread_ts"]
    assert fake_slack.messages_in("C0ESCALATE") == []
