"""The store on its own: migrations, the schema check, time handling, and the outbox claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.runtime.cli import main
from store import outbox as outbox_store
from store.db import make_engine, normalise_database_url, read_session, write_session
from store.migrate import SchemaOutdated, current_revision, ensure_schema, head_revision
from store.models import Lead


def test_a_fresh_sqlite_file_is_migrated_by_itself(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")

    ensure_schema(engine)

    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000


def test_an_outdated_schema_is_refused_with_a_message_saying_what_to_run(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))

    with pytest.raises(SchemaOutdated, match=r"at schema revision 0000, this Leadbot needs .* `leadbot migrate`"):
        ensure_schema(engine)


def test_a_database_with_other_tables_and_no_leadbot_schema_is_not_touched(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE somebody_elses (id INTEGER)"))

    with pytest.raises(SchemaOutdated, match="has no Leadbot schema. Run `leadbot migrate`"):
        ensure_schema(engine)


def test_leadbot_migrate_creates_and_upgrades_the_schema(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'm.db'}")
    monkeypatch.chdir(tmp_path)

    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"Database schema: empty → {head_revision()}",
        f"Database schema: {head_revision()} → {head_revision()}",
    ]


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///leadbot.db", "sqlite:///leadbot.db"),
    ],
)
def test_database_urls_from_platforms_use_psycopg(given, used):
    assert normalise_database_url(given) == used


def _lead(now, **fields) -> Lead:
    return Lead(email="a@b.com", email_norm="a@b.com", created_at=now, **fields)


def test_times_come_back_aware_and_in_utc(engine):
    moment = datetime(2026, 3, 8, 1, 30, tzinfo=UTC)
    local = moment.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    with write_session(engine) as session:
        session.add(_lead(local, first_touch_due_at=moment + timedelta(minutes=15)))
    with read_session(engine) as session:
        lead = session.get(Lead, 1)
    assert lead.created_at == moment and lead.created_at.tzinfo is UTC


def test_a_naive_time_is_refused_rather_than_guessed(engine):
    with pytest.raises(Exception, match="naive datetime"):
        with write_session(engine) as session:
            session.add(_lead(datetime(2026, 1, 1)))


def test_one_open_lead_per_email_is_enforced_by_the_database(engine):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with write_session(engine) as session:
        session.add(_lead(now))
    with pytest.raises(Exception, match="(?i)unique"):
        with write_session(engine) as session:
            session.add(_lead(now))
    with write_session(engine) as session:  # a closed lead does not block a new one
        session.add(_lead(now, is_open=False))


def test_the_outbox_hands_out_one_unsent_row_per_lead_in_order(engine):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with write_session(engine) as session:
        session.add(_lead(now))
        session.flush()
        for method in ("chat.postMessage", "chat.update", "chat.update"):
            outbox_store.enqueue(session, target="slack", method=method, payload={}, now=now, lead_id=1, ref="alert")
        outbox_store.enqueue(session, target="slack", method="chat.postMessage", payload={"channel": "C1"}, now=now)

    with write_session(engine) as session:
        claimed = [c.row for c in outbox_store.claim_due(session, now, timedelta(seconds=60), 10)]
    assert [(r.id, r.method) for r in claimed] == [(1, "chat.postMessage"), (4, "chat.postMessage")]

    with write_session(engine) as session:  # leased: nobody else gets them meanwhile
        assert outbox_store.claim_due(session, now, timedelta(seconds=60), 10) == []
        outbox_store.mark_sent_rows(session, [(1, "D1", "1.1")], now)
    with write_session(engine) as session:
        assert [c.row.id for c in outbox_store.claim_due(session, now, timedelta(seconds=60), 10)] == [2]


def test_upgrading_counts_the_first_touch_of_leads_contacted_before(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    from store.migrate import upgrade

    upgrade(engine, "0002")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO lead (email, email_norm, lead_source, demo_request, pages_visited, extra, score, "
                "score_reasons, hot, stage, lifecycle_stage, is_open, created_at, first_touch_at, first_touch_by, "
                "first_touch_via) VALUES ('a@b.com', 'a@b.com', 'Web', 0, '[]', '{}', 0, '[]', 0, "
                "'attempting_contact', 'lead', 1, '2026-01-01 10:00:00', '2026-01-01 10:05:00', 'U0SDR1', 'call')"
            )
        )

    upgrade(engine)

    with read_session(engine) as session:
        lead = session.get(Lead, 1)
    assert (lead.touch_count, lead.last_touch_by, lead.last_touch_via) == (1, "U0SDR1", "call")
    assert lead.last_touch_at == datetime(2026, 1, 1, 10, 5, tzinfo=UTC)


def test_upgrading_computes_the_report_facts_of_leads_stored_before_from_their_activity_log(tmp_path):
    from sqlmodel import select

    from store.migrate import upgrade
    from store.models import StatsChange

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0006")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO lead (email, email_norm, lead_source, demo_request, pages_visited, extra, score, "
                "score_reasons, hot, stage, lifecycle_stage, is_open, created_at, first_touch_at, touch_count, "
                "idle_period, reassign_count, qualification, outcome, claimable) VALUES ('a@b.com', 'a@b.com', "
                "'Web', 0, '[]', '{}', 0, '[]', 0, 'sql', 'sql', 1, '2026-01-01 10:00:00', '2026-01-02 09:00:00', 1, "
                "2, 1, '{}', '{}', 0)"
            )
        )
        for at, kind, data in [
            ("2026-01-01 10:15:00", "sla_breached", '{"sla": "first_touch"}'),
            ("2026-01-01 12:00:00", "escalated", "{}"),
            ("2026-01-02 10:00:00", "reassigned", '{"from": "U0SDR1", "to": "U0SDR2"}'),
            ("2026-01-02 10:30:00", "touch", '{"first": true, "seconds_to_first_touch": 1800.0}'),
            ("2026-01-02 11:00:00", "handed_off", '{"ae": "U0AE1"}'),
            ("2026-01-02 12:00:00", "rejected", '{"reason": "no_budget"}'),
        ]:
            connection.execute(
                text("INSERT INTO activity (lead_id, at, actor, kind, data) VALUES (1, :at, 'x', :kind, :data)"),
                {"at": at, "kind": kind, "data": data},
            )

    upgrade(engine)

    with read_session(engine) as session:
        lead = session.get(Lead, 1)
        queued = session.exec(select(StatsChange.lead_id)).all()
    assert (lead.first_touch_seconds, lead.first_touch_business_seconds) == (1800.0, None)
    assert (lead.first_touch_breaches, lead.escalations, lead.rejections) == (1, 1, 1)
    assert lead.last_escalated_at == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert (lead.reached_mql, lead.reached_sql, lead.reached_opportunity) == (False, True, False)
    assert lead.touched_after_reassignment is False  # first_touch_at (09:00) came before the reassignment
    assert queued == [1]  # and it waits to be folded into the daily rollup


def test_the_migrations_build_exactly_the_schema_the_models_describe(tmp_path):
    import warnings

    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(engine)
    with engine.connect() as connection, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLite cannot reflect the expression index, so it is not compared
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
