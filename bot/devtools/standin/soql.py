"""The slice of SOQL the Salesforce stand-in understands: what simple-salesforce sends for Leadbot's look-ups.

    SELECT f1, f2 FROM Object [WHERE cond [AND cond]...] [ORDER BY field [ASC|DESC]] [LIMIT n]

where a condition is `Field = value`, `Field != value` or `Field IN (value, ...)`, a value being a quoted
string (backslash escapes), true, false or null. Text compares case-insensitively, as in Salesforce.
Anything else is refused as Salesforce refuses it (MALFORMED_QUERY), so a query the stand-in cannot
check never passes silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUERY = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<direction>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
VALUE = r"'(?:[^'\\]|\\.)*'|true|false|null"
CONDITION = re.compile(
    rf"^\s*(?P<field>\w+)\s*(?:(?P<op>!=|=)\s*(?P<value>{VALUE})|\s+IN\s*\((?P<values>.*)\))\s*$",
    re.IGNORECASE | re.DOTALL,
)


class SoqlError(ValueError):
    pass


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str  # "=", "!=", "IN"
    values: tuple

    @property
    def folded(self) -> frozenset:
        """The values as compared (text case-folded), computed once per query for IN over many records."""
        cached = self.__dict__.get("_folded")
        if cached is None:
            cached = frozenset(_folded(v) for v in self.values)
            object.__setattr__(self, "_folded", cached)
        return cached


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    object: str
    where: tuple[Condition, ...]
    order_by: str | None
    descending: bool
    limit: int | None

    def matches(self, record: dict) -> bool:
        return all(_holds(c, record.get(c.field)) for c in self.where)


def parse(text: str) -> Query:
    found = QUERY.match(text or "")
    if found is None:
        raise SoqlError(f"unexpected token in query: {text!r}")
    fields = tuple(f.strip() for f in found["fields"].split(","))
    if not all(re.fullmatch(r"\w+", f) for f in fields):
        raise SoqlError(f"only plain fields can be selected here: {found['fields']}")
    where = tuple(_condition(part) for part in _split_and(found["where"])) if found["where"] else ()
    return Query(
        fields=fields,
        object=found["object"],
        where=where,
        order_by=found["order"],
        descending=(found["direction"] or "").upper() == "DESC",
        limit=int(found["limit"]) if found["limit"] else None,
    )


def _split_and(where: str) -> list[str]:
    """Split on AND outside quotes (an email may hold the letters "and")."""
    parts, current, quoted, i = [], "", False, 0
    while i < len(where):
        char = where[i]
        if char == "\\" and quoted:
            current += where[i : i + 2]
            i += 2
            continue
        if char == "'":
            quoted = not quoted
        if not quoted and re.match(r"\s+AND\s+", where[i:], re.IGNORECASE):
            parts.append(current)
            current = ""
            i += len(re.match(r"\s+AND\s+", where[i:], re.IGNORECASE).group(0))
            continue
        if not quoted and re.match(r"\s+OR\s+", where[i:], re.IGNORECASE):
            raise SoqlError("the stand-in does not take OR")
        current += char
        i += 1
    return [*parts, current]


def _condition(text: str) -> Condition:
    found = CONDITION.match(text)
    if found is None:
        raise SoqlError(f"unexpected condition: {text.strip()!r}")
    if found["values"] is not None:
        values = tuple(_value(v.strip()) for v in re.findall(VALUE, found["values"], re.IGNORECASE))
        return Condition(found["field"], "IN", values)
    return Condition(found["field"], found["op"], (_value(found["value"]),))


def _value(text: str):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _folded(value):
    return value.lower() if isinstance(value, str) else value


def _same(a, b) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b


def _holds(condition: Condition, actual) -> bool:
    if condition.operator == "IN":
        return _folded(actual) in condition.folded
    equal = _same(actual, condition.values[0])
    return equal if condition.operator == "=" else not equal
