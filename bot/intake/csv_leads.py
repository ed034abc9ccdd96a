"""Leads from a CSV file as people have them: one dict per row in intake's shape, with the row number.

Exports come in UTF-8 (with or without a BOM), Windows-1252 or Latin-1, separated by commas, semicolons or
tabs, with headers such as "First Name" or "Create Date". The encoding is found by a streaming pass, the
delimiter by csv.Sniffer; headers match intake fields whatever their case and spacing; HubSpot's and
Salesforce's standard exports are recognised by their header and mapped without any --map.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from pathlib import Path

from bot.intake.accept import LeadIn

TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0", ""}
BOOLEAN_COLUMNS = ("demo_request", "pricing_page_visit")
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # latin-1 decodes any byte: the last resort
CHUNK = 1 << 20
INTAKE_FIELDS = frozenset(LeadIn.model_fields) | {"product", "submitted_at"}

# The standard exports' column names (normalised, see `header_key`) → intake fields.
FORMATS: dict[str, dict[str, str]] = {
    "hubspot": {
        "record_id": "external_id", "first_name": "first_name", "last_name": "last_name", "email": "email",
        "phone_number": "phone", "mobile_phone_number": "phone", "company_name": "company", "job_title": "title",
        "country_region": "country", "state_region": "region", "number_of_employees": "company_size",
        "industry": "industry", "original_source": "source",
    },
    "salesforce": {
        "lead_id": "external_id", "id": "external_id", "first_name": "first_name", "last_name": "last_name",
        "email": "email", "phone": "phone", "mobile": "phone", "company": "company", "company_account": "company",
        "title": "title", "country": "country", "state_province": "region", "no_of_employees": "company_size",
        "industry": "industry", "lead_source": "source",
    },
}  # fmt: skip
# A header that has these columns is that CRM's export.
SIGNATURES = {"hubspot": {"record_id", "create_date"}, "salesforce": {"lead_source", "lead_status"}}


class UnreadableCsv(ValueError):
    """The file is not a CSV Leadbot can read; the message says why."""


def header_key(name: str) -> str:
    """'First Name' / 'first-name' / ' FIRST_NAME ' / 'Country/Region' → first_name, country_region."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def detect_encoding(path: str | Path) -> str:
    """The first of UTF-8, Windows-1252, Latin-1 that decodes the whole file (read in chunks: memory stays flat)."""
    for encoding in ENCODINGS[:-1]:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    return ENCODINGS[-1]


def read_leads(
    path: str | Path, mapping: dict[str, str] | None = None, export: str | None = None
) -> Iterator[tuple[int, dict]]:
    """Yield (row number, lead dict). `mapping` renames columns (CSV header → intake field); `export`
    (hubspot, salesforce) applies that CRM's standard map, else it is detected from the header.

    Empty cells are left out; `pages_visited` is split on ';'; booleans accept true/yes/1 and
    false/no/0 (anything else is passed through, so intake names the bad field).
    """
    own = {header_key(column): field for column, field in (mapping or {}).items()}
    with open(path, newline="", encoding=detect_encoding(path)) as handle:
        sample = handle.read(64 * 1024)
        handle.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
        except csv.Error:
            dialect = csv.excel  # one column, or nothing to tell by: commas
        reader = csv.reader(handle, dialect)
        header = next(reader, None)
        if not header:
            raise UnreadableCsv("the file is empty: it needs a header row naming the columns")
        keys = [header_key(column) for column in header]
        fields = _fields_for(keys, header, own, FORMATS.get(export or detect_export(keys), {}))
        for number, cells in enumerate(reader, start=2):  # row 1 is the header
            yield number, _lead(fields, cells)


def detect_export(keys: list[str]) -> str | None:
    return next((name for name, signature in SIGNATURES.items() if signature <= set(keys)), None)


def _fields_for(keys: list[str], header: list[str], own: dict[str, str], export: dict[str, str]) -> list[str]:
    """The intake field each column feeds: the --map, else the export's map, else the header as an intake
    field name in any case and spacing, else the column's own name (kept with the lead as an extra field)."""
    return [
        own.get(key) or export.get(key) or (key if key in INTAKE_FIELDS else column.strip())
        for key, column in zip(keys, header, strict=True)
    ]


def _lead(fields: list[str], cells: list[str]) -> dict:
    lead: dict = {}
    for field, value in zip(fields, cells, strict=False):
        if not field or value is None or value.strip() == "":
            continue
        value = value.strip()
        if field in BOOLEAN_COLUMNS and value.lower() in TRUE | FALSE:
            lead[field] = value.lower() in TRUE
        elif field == "pages_visited":
            lead[field] = [page.strip() for page in value.split(";") if page.strip()]
        else:
            lead.setdefault(field, value)
    return lead
