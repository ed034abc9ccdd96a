"""CSV files as people have them: CRM exports, encodings, delimiters, line endings, headers in any case."""

from __future__ import annotations

import pytest

from bot.intake.csv_leads import UnreadableCsv, read_leads
from bot.runtime.cli import main
from tests.test_dry_run import TEAM

# Shaped like HubSpot's contact export (its column names), written by Excel: UTF-8 with a BOM, CRLF.
HUBSPOT_EXPORT = (
    "Record ID,First Name,Last Name,Email,Phone Number,Company Name,Job Title,Country/Region,"
    "Number of Employees,Original Source,Lifecycle Stage,Create Date\r\n"
    '501,Jürgen,Groß,jurgen@bosch.de,+49 711 400,Bosch,"Head of IT,\r\nEMEA",Germany,10000,Social Media,Lead,'
    "2026-11-20 10:03\r\n"
    "502,Ana,Lima,ana@natura.com.br,,Natura,CMO,Brazil,5000,Direct Traffic,Lead,2026-11-21 09:00\r\n"
)
# Shaped like Salesforce's Lead export from a European Excel: semicolons, Windows-1252.
SALESFORCE_EXPORT = (
    "Lead ID;First Name;Last Name;Email;Company;Title;Country;Lead Source;Lead Status\r\n"
    "00Q5g0000001AAA;José;Núñez;jose@telefonica.es;Telefónica;CTO;Spain;Trade Show;Open - Not Contacted\r\n"
)


def _rows(path, **options) -> list[dict]:
    return [lead for _, lead in read_leads(path, **options)]


def test_a_hubspot_export_is_recognised_and_mapped_without_flags(tmp_path):
    path = tmp_path / "hubspot.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HUBSPOT_EXPORT.encode())

    first, second = _rows(path)

    assert first | {"Create Date": None, "Lifecycle Stage": None} == {
        "external_id": "501", "first_name": "Jürgen", "last_name": "Groß", "email": "jurgen@bosch.de",
        "phone": "+49 711 400", "company": "Bosch", "title": "Head of IT,\r\nEMEA", "country": "Germany",
        "company_size": "10000", "source": "Social Media", "Create Date": None, "Lifecycle Stage": None,
    }  # fmt: skip
    assert second["country"] == "Brazil" and second["source"] == "Direct Traffic"


def test_a_salesforce_export_in_windows_1252_with_semicolons_is_read(tmp_path):
    path = tmp_path / "salesforce.csv"
    path.write_bytes(SALESFORCE_EXPORT.encode("cp1252"))

    [row] = _rows(path)

    assert (row["first_name"], row["last_name"], row["company"]) == ("José", "Núñez", "Telefónica")
    assert (row["source"], row["external_id"], row["email"]) == ("Trade Show", "00Q5g0000001AAA", "jose@telefonica.es")


@pytest.mark.parametrize(
    ("text", "encoding"),
    [("EMAIL\tFirst_Name\tcompany size\na@b.io\tAnn\t50\n", "utf-8"),  # tabs, headers in any case and spacing
     ("Email,First-Name\nc@d.io,Zoë\n", "latin-1")],
)  # fmt: skip
def test_tabs_latin_1_and_header_spelling_are_taken(tmp_path, text, encoding):
    path = tmp_path / "leads.csv"
    path.write_bytes(text.encode(encoding))
    [row] = _rows(path)
    assert "email" in row and "first_name" in row


def test_an_empty_file_is_named_as_such(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(UnreadableCsv, match="empty"):
        _rows(path)


def test_the_dry_run_takes_map_and_a_crm_export(tmp_path, monkeypatch, capsys):
    (tmp_path / "leadbot.yml").write_text(TEAM.replace('sla: {business_hours: {open: "09:00", close: "18:00"}}', ""))
    (tmp_path / "hubspot.csv").write_bytes(HUBSPOT_EXPORT.encode())
    (tmp_path / "odd.csv").write_text("E-mail;Land\nx@siemens.de;Germany\n")
    (tmp_path / "empty.csv").write_text("")
    monkeypatch.setenv("LEADBOT_CONFIG", str(tmp_path / "leadbot.yml"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'route.db'}")
    monkeypatch.chdir(tmp_path)

    assert main(["route", "--dry-run", "hubspot.csv"]) == 0
    out = capsys.readouterr().out
    # "Number of Employees" was read as the company size: 10,000 is the Enterprise rule's.
    assert out.splitlines()[0].startswith("row 2: jurgen@bosch.de → Ana Silva (Enterprise rule")
    assert main(["route", "--dry-run", "odd.csv", "--map", "E-mail=email", "--map", "Land=country"]) == 0
    assert "EMEA rule" in capsys.readouterr().out
    assert main(["route", "--dry-run", "empty.csv"]) == 1
    assert "empty.csv: the file is empty" in capsys.readouterr().err
