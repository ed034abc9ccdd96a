"""CSV files as people have them: CRM exports, encodings, delimiters, line endings, headers in any case."""

from __future__ import annotations

import tracemalloc

import pytest
from sqlmodel import select

from bot.intake.csv_leads import LeadFile, UnreadableCsv, read_leads
from bot.runtime.cli import main
from store.db import make_engine, read_session
from store.models import Lead
from tests.conftest import MINIMAL_CONFIG, count
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


# -- bad input: a clear message naming the problem and the row, exit 1, nothing half-imported -------------------
@pytest.fixture
def import_file(tmp_path, monkeypatch):
    """Runs `leadbot import` on a file with the given bytes; returns (exit code, the database engine)."""
    (tmp_path / "leadbot.yml").write_text(MINIMAL_CONFIG)
    database = f"sqlite:///{tmp_path / 'import.db'}"
    monkeypatch.setenv("LEADBOT_CONFIG", str(tmp_path / "leadbot.yml"))
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.chdir(tmp_path)

    def run(content: bytes, *flags: str) -> tuple[int, object]:
        (tmp_path / "leads.csv").write_bytes(content)
        return main(["import", "leads.csv", "--no-alerts", *flags]), make_engine(database)

    return run


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4, "an Excel workbook or another zip file, not CSV"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "a binary file, not CSV text"),
        (b"Name,Company\nAnn,Acme\n", "no column is the email: the columns are 'Name', 'Company'"),
        (b"\n\n", "the file is empty"),
    ],
)
def test_a_file_that_is_not_a_csv_of_leads_is_refused_with_its_reason(import_file, capsys, content, named):
    code, engine = import_file(content)

    assert code == 1 and named in capsys.readouterr().err
    assert count(engine, Lead) == 0


def test_a_row_with_5000_columns_is_rejected_alone(import_file, capsys, tmp_path):
    wide = "x@wide.io," + ",".join(["junk"] * 4999)
    code, engine = import_file(f"email,first_name\na@b.io,Ann\n{wide}\nc@d.io,Cy\n".encode())

    out = capsys.readouterr().out
    assert code == 1 and "2 created" in out and "row 3: (row): 5000 filled cells but the header names 2 columns" in out
    assert count(engine, Lead) == 2
    rejected = (tmp_path / "leads.rejected.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rejected[1].startswith("3,(row): 5000 filled cells") and rejected[1].endswith(",x@wide.io,junk")


def test_the_dry_run_names_a_row_with_too_many_cells_as_such(tmp_path, monkeypatch, capsys):
    (tmp_path / "leadbot.yml").write_text(MINIMAL_CONFIG)
    (tmp_path / "leads.csv").write_text("email,first_name\na@b.io,Ann\nx@wide.io," + ",".join(["junk"] * 4999) + "\n")
    monkeypatch.setenv("LEADBOT_CONFIG", str(tmp_path / "leadbot.yml"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'route.db'}")
    monkeypatch.chdir(tmp_path)

    assert main(["route", "--dry-run", "leads.csv"]) == 0

    out = capsys.readouterr().out
    assert "row 3: rejected ((row): 5000 filled cells but the header names 2 columns)" in out


def test_a_cell_too_big_for_csv_stops_the_import_at_its_row_with_the_rows_before_it_whole(import_file, capsys):
    huge = "y" * (200 * 1024)  # past the csv module's 128 KiB per cell: a binary blob or a broken quote
    code, engine = import_file(f'email,first_name\na@b.io,Ann\nc@d.io,"{huge}"\ne@f.io,Eve\n'.encode())

    assert (
        code == 1 and "leads.csv: row 3 cannot be read as CSV (field larger than field limit" in capsys.readouterr().err
    )
    with read_session(engine) as session:
        assert session.exec(select(Lead.email)).all() == ["a@b.io"]


def test_reading_a_big_file_keeps_memory_flat(tmp_path):
    """The file is streamed: four times the rows take no more memory to read (a 200 MB file the same way;
    bench/README.md has the whole import's memory on 100,000 rows)."""
    row = "lead{0}@acme.io,Firstname{0},Lastname,Acme Corporation International,Head of Operations,Germany,500\n"

    def peak_reading(rows: int) -> tuple[int, int]:
        path = tmp_path / f"{rows}.csv"
        with open(path, "w") as handle:
            handle.write("email,first_name,last_name,company,title,country,company_size\n")
            handle.writelines(row.format(n) for n in range(rows))
        tracemalloc.start()
        assert sum(1 for _ in LeadFile(path).rows()) == rows
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak, path.stat().st_size

    small, _ = peak_reading(20_000)
    large, size = peak_reading(80_000)

    assert large < small * 1.2 + 100_000 and large < size / 2, f"{small:,} → {large:,} bytes for {size:,}"
