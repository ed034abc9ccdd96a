"""`leadbot forget EMAIL`: a person's data is erased everywhere Leadbot keeps it; the anonymous counts stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlmodel import SQLModel

from bot.lifecycle.handoff import accept_sql
from bot.lifecycle.qualification import qualify_as_sql
from bot.reports.leadstats import parse_request, report_text
from bot.runtime.cli import main
from store.db import read_session
from store.models import Lead
from tests.conftest import MINIMAL_CONFIG, eventually

PERSONAL = ["sam.quill@acme-rockets.com", "Samantha", "Quill", "Acme Rockets", "555 123 4567", "acme-rockets", "garage"]
QUALIFIED = {"need": "Samantha needs it", "budget": "b", "timeline": "t", "decision_maker": "Quill herself"}


def _everything_stored(engine) -> str:
    with read_session(engine) as session:
        return "\n".join(
            repr(tuple(row)) for table in SQLModel.metadata.sorted_tables for row in session.execute(select(table))
        )


def _numbers(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("• Leads in", "• Time to first", "• Lead → MQL"))]


def _touched(engine, lead_id: int) -> bool:
    with read_session(engine) as session:
        return session.get(Lead, lead_id).touch_count == 1


def test_forget_erases_a_person_everywhere_and_keeps_their_counts(bot, database_url, tmp_path, monkeypatch, capsys):
    person = {
        "email": "Sam.Quill@acme-rockets.com",
        "first_name": "Samantha",
        "last_name": "Quill",
        "company": "Acme Rockets",
        "phone": "+1 555 123 4567",
        "how_did_you_hear": "from my garage band",  # an unknown field: kept, so erased too
    }
    _, first = bot.post_lead(person)
    bot.click_contacted(first["id"], "U0SDR1")
    config = bot.leadbot.config
    eventually(lambda: _touched(bot.engine, first["id"]))  # the click is handled after its ack
    qualify_as_sql(
        bot.engine, config, bot.clock, lead_id=first["id"], actor_id="U0SDR1", notes="Samantha", fields=QUALIFIED
    )
    accept_sql(bot.engine, config, bot.clock, lead_id=first["id"], actor_id="U0AE1")  # an opportunity
    _, second = bot.post_lead(person)  # back again: a new open lead
    bot.post_lead({"email": "someone@else.com", "first_name": "Other"})
    bot.leadbot.relay.kick()
    eventually(lambda: len(bot.slack.calls_to("chat.postMessage")) >= 3)
    bot.clock.advance(timedelta(minutes=5))
    request = parse_request("7d", "U0MGR1", config, bot.clock.now())
    before = report_text(bot.engine, config, request, bot.clock.now())
    assert all(p in _everything_stored(bot.engine) for p in PERSONAL[:4])

    (tmp_path / "leadbot.yml").write_text(MINIMAL_CONFIG)
    monkeypatch.setenv("LEADBOT_CONFIG", str(tmp_path / "leadbot.yml"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["forget", "sam.quill@ACME-rockets.com"]) == 0

    said = capsys.readouterr().out
    assert f"2 lead(s) of s***@acme-rockets.com: #{first['id']}, #{second['id']} (1 still open, now closed)" in said
    stored = _everything_stored(bot.engine)
    assert [line for line in stored.lower().splitlines() if any(p.lower() in line for p in PERSONAL)] == []
    assert "someone@else.com" in stored and "Other" in stored  # nobody else was touched

    after = report_text(bot.engine, config, request, bot.clock.now())
    assert _numbers(after) == _numbers(before) and len(_numbers(after)) == 3  # the counts stay

    # The CLI stamped its redraws with the wall clock: bring the bot's clock there, then the DMs in Slack are
    # redrawn without the person.
    bot.clock.set(datetime.now(UTC) + timedelta(seconds=1))
    bot.leadbot.relay.kick()
    redrawn = eventually(
        lambda: [c for c in bot.slack.calls_to("chat.update") if "Erased" in json.dumps(c.args.get("blocks"))]
    )
    assert not any(p in json.dumps(c.args) for c in redrawn for p in PERSONAL)

    assert main(["forget", "nobody@nowhere.com"]) == 0
    assert "nothing to erase" in capsys.readouterr().out
