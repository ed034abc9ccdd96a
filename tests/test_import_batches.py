"""An import's batches write exactly what the live intake writes one lead at a time.

The same file, with the same clock, imported set by set (bot.intake.bulk) and row by row (accept_in alone):
the leads, their timers, their activity log, the outbox (alerts, claim offers, App Home refreshes), the
rotation rows and the rollup queue must be the same, through every routing path: rules and their methods,
weights, capacity, someone away, the existing owner of a domain (also one first seen in the same batch), a
rule's fallback pool, the unclaimed channel, a person already open and a person twice in the file.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
import yaml
from sqlalchemy import text
from sqlmodel import SQLModel, select

from bot.core.clock import ManualClock
from bot.core.config import parse_config
from bot.intake.accept import accept_lead, parse_lead
from bot.intake.csv_leads import LeadFile
from bot.intake.importer import import_leads
from bot.runtime.app import prepare_database
from store import routing as rotation_store
from store.db import make_engine, read_session, write_session
from store.models import Activity, Lead, OutboxMessage, RoutingState, StatsChange, Timer
from tests.test_routing_rules import TEAM

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York: business hours
COUNTRIES = ["Germany", "United States", "Japan", "France", "Brazil", ""]
PRODUCTS = ["api", "", "", "platform"]
SOURCES = ["Partner", "Website", "Paid Search"]


def _config():
    data = yaml.safe_load(TEAM)
    data["channels"]["unclaimed"] = "C0UNCLAIM"
    data["team"][0]["max_open"] = 6  # Sam fills up during the file
    data["team"][3]["max_open"] = 2  # and Lou: then the Enterprise rule has nobody (Ana is away): unclaimed
    return parse_config(data, "test config")


def _csv(path) -> None:
    lines = ["email,first_name,company,country,company_size,product_interest,source,demo_request,title,pages_visited"]
    for n in range(90):
        domain = f"company{n % 23}.com" if n % 4 else "gmail.com"  # repeated companies: existing owners
        domain = f"partner{n}.io" if n % 3 == 0 and n % 2 else domain  # new companies from partners
        email = f"p{n % 80}@{domain}"  # some of the last ten are people already in the file
        lines.append(
            f"{email},P{n},Company {n % 23},{COUNTRIES[(n // 2) % 6]},{(n % 7) * 400},{PRODUCTS[n % 4]},"
            f"{SOURCES[n % 3]},{'yes' if n % 5 == 0 else 'no'},{'VP Sales' if n % 3 == 0 else 'Analyst'}"
        )
    # What COPY must carry as an INSERT would: quotes, a backslash, a tab, a line break, NUL-free unicode, JSON.
    lines.append(
        'odd@zürich.ch,"Zoë ""Z"" O\'Neil",Back\\slash\tTab,Switzerland,40,,Website,no,'
        '"Head of\r\nIT","/pricing;/search?q=""x"""'
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _database(url: str):
    """The test's database emptied, ids starting again at 1 (the two runs' rows are compared by lead id)."""
    engine = make_engine(url)
    tables = SQLModel.metadata.sorted_tables
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(t.name for t in tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(table.delete())
    return engine


def _seed(engine, config) -> None:
    """What the team's database held before the import: an open lead of one person, and Ana away."""
    prepare_database(engine, config)
    accept_lead(engine, config, ManualClock(NOW), parse_lead({"email": "p3@company3.com", "country": "Germany"}))
    with write_session(engine) as session:
        rotation_store.set_away(session, "U0SDR2", away=True, until=None, now=NOW, by="U0SDR2")


def _everything(engine) -> dict:
    with read_session(engine) as session:
        leads = [lead.model_dump(exclude={"id"}) for lead in session.exec(select(Lead).order_by(Lead.id))]
        timers = Counter((t.lead_id, t.kind, t.period, t.due_at, t.state) for t in session.exec(select(Timer)))
        log = Counter(
            (a.lead_id, a.at, a.actor, a.kind, repr(sorted(a.data.items()))) for a in session.exec(select(Activity))
        )
        outbox = Counter(
            (m.lead_id, m.target, m.method, m.ref, repr(sorted(m.payload.items())), m.next_attempt_at, m.background)
            for m in session.exec(select(OutboxMessage))
        )
        rotations = {
            r.pool: (r.last_slack_id, r.assigned_count, r.counts, r.credits) for r in session.exec(select(RoutingState))
        }
        marked = set(session.exec(select(StatsChange.lead_id)).all())
    return {"leads": leads, "timers": timers, "log": log, "outbox": outbox, "rotations": rotations, "marked": marked}


# Two batch sizes: on PostgreSQL up to 50 leads go in as one INSERT, more by COPY (store.db.insert_rows).
@pytest.mark.parametrize(("alerts", "batch_size"), [(True, 60), (False, 40)])
def test_batches_write_what_the_intake_writes_one_by_one(tmp_path, database_url, alerts, batch_size):
    config, path = _config(), tmp_path / "leads.csv"
    _csv(path)
    results = {}
    for one_by_one in (True, False):
        engine = _database(database_url)
        _seed(engine, config)
        report = import_leads(
            engine,
            config,
            ManualClock(NOW),
            LeadFile(path),
            alerts=alerts,
            one_by_one=one_by_one,
            batch_size=batch_size,
        )
        results[one_by_one] = (report.created, report.duplicates, report.rejected), _everything(engine)
        engine.dispose()

    (counts_alone, alone), (counts_batched, batched) = results[True], results[False]
    assert counts_alone == counts_batched and counts_alone[1] >= 3  # resubmissions: p3 (open before) and twins
    [odd] = [lead for lead in batched["leads"] if lead["email"] == "odd@zürich.ch"]
    assert (odd["first_name"], odd["company"], odd["title"]) == ('Zoë "Z" O\'Neil', "Back\\slash\tTab", "Head of\r\nIT")
    assert odd["pages_visited"] == ["/pricing", '/search?q="x"']
    for part in alone:
        assert batched[part] == alone[part], part
    reasons = " ".join(lead["routing_reason"] for lead in alone["leads"])
    for path_taken in ("Existing owner", "weighted", "load balanced", "at capacity", "was away", "unclaimed channel"):
        assert path_taken in reasons  # every routing path was exercised, so the comparison covers it
