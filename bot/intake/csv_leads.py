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
# What a historic record says about itself, read by a backfill only (bot/intake/history.py): in a live import a
# "Create Date" without a zone or a "Lead Status" stays with the lead as an extra field, as the file named it.
HISTORY_FIELDS = frozenset({"created_at", "status", "lifecycle_stage", "owner", "first_touch_at"})
HISTORY_COLUMNS: dict[str, str] = {
    "create_date": "created_at", "created_date": "created_at", "createddate": "created_at",
    "created": "created_at", "created_at": "created_at", "submitted_at": "created_at",
    "lead_status": "status", "status": "status", "stage": "status",
    "lifecycle_stage": "lifecycle_stage",
    "contact_owner": "owner", "lead_owner": "owner", "owner": "owner", "owner_email": "owner",
    "lead_owner_email": "owner", "contact_owner_email": "owner", "hubspot_owner": "owner", "owner_id": "owner",
    "ownerid": "owner",
    "first_touch_at": "first_touch_at", "first_touch": "first_touch_at", "first_contacted": "first_touch_at",
    "first_outreach_date": "first_touch_at", "date_of_first_engagement": "first_touch_at",
    "time_of_first_engagement": "first_touch_at", "first_engagement_date": "first_touch_at",
    "first_call_date": "first_touch_at",
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


class LeadFile:
    """A CSV of leads, read in one streaming pass: `header`, then (row number, lead dict, raw cells) per row.

    `mapping` renames columns (CSV header → intake field); `export` (hubspot, salesforce) applies that CRM's
    standard map, else it is detected from the header. With `history` (a backfill), the record's own created
    date, status, lifecycle stage, owner and first touch are recognised too (HISTORY_FIELDS).

    Empty cells are left out; `pages_visited` is split on ';'; booleans accept true/yes/1 and false/no/0
    (anything else is passed through, so intake names the bad field). A row with more filled cells than the
    header has columns is given as None: its values cannot be matched to columns.
    """

    def __init__(
        self, path: str | Path, mapping: dict[str, str] | None = None, export: str | None = None, *, history=False
    ):
        self.path, self.history = Path(path), history
        self.own = {header_key(column): field for column, field in (mapping or {}).items()}
        self.export = export
        self.encoding = _readable_encoding(self.path)
        with self._open() as handle:
            self.dialect = _dialect(handle.read(64 * 1024))
            handle.seek(0)
            self.header = _header(csv.reader(handle, self.dialect))
        keys = [header_key(column) for column in self.header]
        self.export = export or detect_export(keys)
        known = FORMATS.get(self.export, {})
        self.fields = _fields_for(keys, self.header, self.own, (HISTORY_COLUMNS | known) if history else known, history)
        for needed, named in [("email", "the email")] + ([("created_at", "the created date")] if history else []):
            if needed not in self.fields:
                columns = ", ".join(f"'{column}'" for column in self.header[:12])
                more = f" and {len(self.header) - 12} more" if len(self.header) > 12 else ""
                raise UnreadableCsv(
                    f"no column is {named}: the columns are {columns}{more}. Name it with --map 'COLUMN={needed}'."
                )

    def _open(self):
        return open(self.path, newline="", encoding=self.encoding)

    def rows(self) -> Iterator[tuple[int, dict | None, list[str]]]:
        with self._open() as handle:
            reader = csv.reader(handle, self.dialect)
            next(reader, None)
            number = 1
            try:
                for number, cells in enumerate(reader, start=2):  # row 1 is the header
                    overflow = any(cell.strip() for cell in cells[len(self.fields) :])
                    yield number, None if overflow else _lead(self.fields, cells), cells
            except csv.Error as exc:  # a cell past the csv module's limit (128 KiB): not a CSV of leads
                raise UnreadableCsv(f"row {number + 1} cannot be read as CSV ({exc})") from None

    def overflow(self, cells: list[str]) -> dict[str, str]:
        """Why a row given as None cannot be read: its problem, as InvalidLead's fields."""
        filled = sum(1 for cell in cells if cell.strip())
        return {"(row)": f"{filled} filled cells but the header names {len(self.header)} columns"}

    def count_rows(self) -> int:
        """How many data rows (quoted newlines inside a cell are not rows): for the progress bar."""
        with self._open() as handle:
            try:
                return max(sum(1 for _ in csv.reader(handle, self.dialect)) - 1, 0)
            except csv.Error:
                return 0  # `rows` names the row

    def feeds(self, field: str) -> bool:
        return field in self.fields


def read_leads(
    path: str | Path, mapping: dict[str, str] | None = None, export: str | None = None, *, history: bool = False
) -> Iterator[tuple[int, dict]]:
    """Yield (row number, lead dict) of a CSV of leads (see LeadFile); a row that overflows the header is {}."""
    for number, lead, _ in LeadFile(path, mapping, export, history=history).rows():
        yield number, lead or {}


def _readable_encoding(path: Path) -> str:
    with open(path, "rb") as handle:
        start = handle.read(4096)
    if start.startswith(b"PK\x03\x04"):
        raise UnreadableCsv("this is an Excel workbook or another zip file, not CSV: save it as CSV (UTF-8) first")
    if b"\x00" in start and not start.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableCsv("this is a binary file, not CSV text: export the leads as CSV first")
    return detect_encoding(path)


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        return csv.excel  # one column, or nothing to tell by: commas


def _header(reader) -> list[str]:
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UnreadableCsv(f"the header row cannot be read as CSV ({exc})") from None
    if not header or not any(column.strip() for column in header):
        raise UnreadableCsv("the file is empty: it needs a header row naming the columns")
    return header


def detect_export(keys: list[str]) -> str | None:
    return next((name for name, signature in SIGNATURES.items() if signature <= set(keys)), None)


def _fields_for(
    keys: list[str], header: list[str], own: dict[str, str], export: dict[str, str], history: bool
) -> list[str]:
    """The intake field each column feeds: the --map, else the export's map, else the header as an intake
    field name in any case and spacing (the history fields too in a backfill), else the column's own name
    (kept with the lead as an extra field)."""
    named = INTAKE_FIELDS | HISTORY_FIELDS if history else INTAKE_FIELDS
    return [
        own.get(key) or export.get(key) or (key if key in named else column.strip())
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
