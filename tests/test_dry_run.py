"""`leadbot route --dry-run leads.csv` prints where each lead would go and saves nothing."""

from __future__ import annotations

from sqlmodel import select

from bot.runtime.cli import main
from store.db import make_engine, read_session
from store.models import Lead, RoutingState
from tests.test_routing_rules import TEAM

CSV = """email,first_name,company_size,region,product_interest,source,demo_request
a@emea1.com,Ann,50,EMEA,,,no
b@big.com,Bo,5000,,,,yes
c@api.io,Cy,10,,api,,
not-an-email,Dee,,,,,
e@emea2.com,Eve,20,EMEA,,,maybe
a@emea1.com,Ann again,50,EMEA,,,
f@na.com,Fay,10,NA,,Partner,
"""


def test_the_dry_run_prints_each_owner_and_why_with_summaries_and_saves_nothing(tmp_path, monkeypatch, capsys):
    (tmp_path / "leadbot.yml").write_text(TEAM.replace('sla: {business_hours: {open: "09:00", close: "18:00"}}', ""))
    (tmp_path / "leads.csv").write_text(CSV)
    database = f"sqlite:///{tmp_path / 'route.db'}"
    monkeypatch.setenv("LEADBOT_CONFIG", str(tmp_path / "leadbot.yml"))
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.chdir(tmp_path)

    assert main(["route", "--dry-run", "leads.csv"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "row 2: a@emea1.com → Ana Silva (EMEA rule → its pool, round robin, 1st of 3)"
    assert out[1].startswith("row 3: b@big.com → Ana Silva (Enterprise rule → its pool, weighted")
    assert out[2] == "row 4: c@api.io → Kai Moreno (API rule → its pool, round robin, 1st of 1)"
    assert out[3].startswith("row 5: rejected (email:")
    assert out[4].startswith("row 6: rejected (demo_request:")
    assert out[5] == "row 7: a@emea1.com → Ana Silva (same person as an open lead: a touch)"
    assert out[6].startswith("row 8: f@na.com → ") and "Partners rule → its pool, load balanced" in out[6]
    assert "4 new leads would be assigned; 2 rows rejected. Nothing was saved." in out
    assert any(line.startswith("Per rep:  Ana Silva 2") for line in out)
    assert any(line.startswith("Per rule: ") and "EMEA 1" in line and "API 1" in line for line in out)
    engine = make_engine(database)
    with read_session(engine) as session:
        assert session.exec(select(Lead)).all() == []
        assert session.exec(select(RoutingState)).all() == []


def test_route_without_dry_run_or_with_a_missing_file_says_so(tmp_path, monkeypatch, capsys):
    (tmp_path / "leadbot.yml").write_text(TEAM)
    monkeypatch.setenv("LEADBOT_CONFIG", str(tmp_path / "leadbot.yml"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'route.db'}")
    monkeypatch.chdir(tmp_path)

    assert main(["route", "leads.csv"]) == 2
    assert main(["route", "--dry-run", "missing.csv"]) == 2
    err = capsys.readouterr().err
    assert "add --dry-run" in err and "missing.csv: no such file" in err
