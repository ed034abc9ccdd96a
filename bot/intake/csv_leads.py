"""Leads from a CSV file: one dict per row in intake's shape, with the row number for messages."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0", ""}
BOOLEAN_COLUMNS = ("demo_request", "pricing_page_visit")


def read_leads(path: str | Path, mapping: dict[str, str] | None = None) -> Iterator[tuple[int, dict]]:
    """Yield (row number, lead dict). `mapping` renames columns (CSV header → intake field).

    Empty cells are left out; `pages_visited` is split on ';'; booleans accept true/yes/1 and
    false/no/0 (anything else is passed through, so intake names the bad field).
    """
    mapping = mapping or {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):  # row 1 is the header
            lead: dict = {}
            for column, value in row.items():
                if column is None or value is None or value.strip() == "":
                    continue
                field = mapping.get(column.strip(), column.strip())
                value = value.strip()
                if field in BOOLEAN_COLUMNS and value.lower() in TRUE | FALSE:
                    lead[field] = value.lower() in TRUE
                elif field == "pages_visited":
                    lead[field] = [page.strip() for page in value.split(";") if page.strip()]
                else:
                    lead[field] = value
            yield number, lead
