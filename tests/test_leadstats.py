"""/leadstats: numbers from a known history, checked against hand counts; arguments and permissions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import text

from bot.devtools.standin.requests import post_signed, slash_command_body
from bot.intake.accept import accept_lead, parse_lead
from bot.lifecycle.codes import ContactMethod
from bot.lifecycle.handoff import accept_sql
from bot.lifecycle.qualification import qualify_as_sql
from bot.lifecycle.touches import log_touch
from bot.reports.leadstats import UsageError, parse_request, report_text
from bot.runtime.app import prepare_database
from bot.sla.sweep import sweep
from store import leads as lead_store
from store.db import read_session
from tests.conftest import MINIMAL_CONFIG, SIGNING_SECRET, START, eventually, make_config

QUALIFIED = {"need": "n", "budget": "b", "timeline": "t", "decision_maker": "d"}


@pytest.fixture
def history(engine, clock):
    """Four leads on Monday: two touched in time, one late, one never; one becomes an accepted SQL."""
    config = make_config()
    prepare_database(engine, config)

    def new(email: str, **extra) -> int:
        return accept_lead(engine, config, clock, parse_lead({"email": email, **extra})).lead.id

    def touch(lead_id: int, owner: str) -> None:
        log_touch(engine, config, clock, lead_id=lead_id, actor_id=owner, via=ContactMethod.CALL, number=1)

    l1 = new("a@one.com", source="Website")  # Sam
    l2 = new("b@two.com", utm_source="google", utm_medium="cpc")  # Ana, Paid Search
    new("c@three.com")  # Sam, Unknown source
    l4 = new("d@four.com", source="Website")  # Ana
    clock.advance(timedelta(minutes=2))
    touch(l4, "U0SDR2")  # 2 minutes
    clock.advance(timedelta(minutes=2))
    touch(l1, "U0SDR1")  # 4 minutes
    clock.advance(timedelta(minutes=12))
    sweep(engine, config, clock.now())  # 16 minutes: l2 and l3 breach the 15-minute SLA
    clock.advance(timedelta(minutes=4))
    touch(l2, "U0SDR2")  # 20 minutes, late
    clock.advance(timedelta(minutes=10))
    qualify_as_sql(engine, config, clock, lead_id=l4, actor_id="U0SDR2", notes="fit", fields=QUALIFIED)
    accept_sql(engine, config, clock, lead_id=l4, actor_id="U0AE1")
    clock.advance(timedelta(minutes=91))
    sweep(engine, config, clock.now())  # 2h01: l3 escalates (l1 and l2 were touched later, l4 is closed)
    clock.advance(timedelta(days=1))
    return config


def _report(engine, config, clock, text: str = "", actor: str = "U0MGR1") -> str:
    return report_text(engine, config, parse_request(text, actor, config, clock.now()), clock.now())


def test_the_team_report_matches_a_hand_count(engine, clock, history):
    text = _report(engine, history, clock)

    assert text.splitlines()[0] == "*the team, the last 7 days*"
    assert "Leads in: 4 ▲ · Unknown source 25% ⚠️ above the red-flag line" in text
    # First touches took 2m, 4m and 20m: median (nearest rank) 4m, p90 20m; 2 of 4 within the SLA.
    assert "Time to first touch: median 4m, p90 20m · SLA compliance 50% · breaches 2" in text
    assert "Escalations 1 · reassignments 0" in text
    assert "Lead → MQL 0% · lead → SQL 25% · SQL acceptance 100% · SQL → opportunity 100%" in text
    assert "Sources: Website 2 (50% SQL, 1 opp), Paid Search 1 (0% SQL, 0 opp), Unknown 1 (0% SQL, 0 opp)" in text
    # A day later three open leads have been idle for over 24h; the worst (idle longest) first.
    assert (
        "Leakage: 1 never touched · 0 touched only after a reassignment · 3 open with no activity for over 1d: "
        "#3 c@three.com (<@U0SDR1>), #1 a@one.com (<@U0SDR1>), #2 b@two.com (<@U0SDR2>)"
    ) in text
    assert text.splitlines()[-3:] == [
        "*Per rep*: leads · median first touch · SLA · SQLs · acceptance · rep delay · confirmed touches",
        "• <@U0SDR1>: 2 · 4m · 50% · 0 · n/a · n/a · 0%",
        "• <@U0SDR2>: 2 · 2m · 50% · 1 · 100% · n/a · 0%",
    ]


def test_reps_do_not_get_the_per_rep_table(engine, clock, history):
    assert "Per rep" not in _report(engine, history, clock, actor="U0SDR1")


def test_a_rep_and_a_source_scope(engine, clock, history):
    sam = _report(engine, history, clock, "<@U0SDR1>")
    assert sam.splitlines()[0] == "*Sam Rivera, the last 7 days*"
    assert "Leads in: 2 ▲" in sam and "median 4m, p90 4m · SLA compliance 50% · breaches 1" in sam

    website = _report(engine, history, clock, "30d source:website")
    assert website.splitlines()[0] == "*source Website, the last 30 days*"  # named as the standard spells it
    assert "Leads in: 2 ▲" in website and "lead → SQL 50%" in website


def test_an_empty_period_says_so_and_the_next_week_compares_with_this_one(engine, clock, history):
    assert _report(engine, history, clock, "today") == "*the team, today*: no leads came in."
    clock.advance(timedelta(days=7))
    assert "no leads came in" in _report(engine, history, clock)


def test_a_date_range_includes_both_days_in_the_team_zone(engine, clock, history):
    monday = START.date().isoformat()
    assert "Leads in: 4" in _report(engine, history, clock, f"{monday}..{monday}")
    before = (START.date() - timedelta(days=1)).isoformat()
    assert "no leads came in" in _report(engine, history, clock, f"{before}..{before}")


@pytest.mark.parametrize(
    ("text", "actor", "problem"),
    [
        ("yesterday", "U0SDR1", "`yesterday` is not something /leadstats knows"),
        ("2026-11-30..2026-11-01", "U0SDR1", "ends before it starts"),
        ("2026-13-01..2026-13-02", "U0SDR1", "is not a date range"),
        ("<@U0SDR2>", "U0SDR1", "You can see your own numbers and the team's"),
        ("public", "U0SDR1", "Only a manager can post /leadstats publicly"),
        ("<@U0NOBODY>", "U0MGR1", "is not on the Leadbot team"),
    ],
)
def test_bad_arguments_and_permissions_get_a_one_line_answer_with_the_usage(text, actor, problem):
    config = make_config()
    with pytest.raises(UsageError, match=problem):
        parse_request(text, actor, config, START)


def test_reps_see_their_own_numbers_and_the_teams(engine, clock, history):
    assert parse_request("<@U0SDR1>", "U0SDR1", history, clock.now()).scope.owner_id == "U0SDR1"
    assert parse_request("team", "U0SDR1", history, clock.now()).scope.owner_id is None
    assert parse_request("<@U0SDR2> public", "U0MGR1", history, clock.now()).public


@pytest.mark.parametrize("typed", ["<@U0SDR2|ana.silva>", "<@U0SDR2>", "@ana.silva", "@Ana", "@anasilva", "@ANA_SILVA"])
def test_a_rep_can_be_named_as_slack_sends_a_mention_or_as_typed(typed):
    assert parse_request(typed, "U0MGR1", make_config(), START).scope.owner_id == "U0SDR2"


def test_a_name_that_fits_two_people_or_nobody_says_so():
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["team"].append({"slack_id": "U0SDR3", "name": "Ana Ortiz", "role": "sdr"})
    config = make_config(team=data["team"])
    with pytest.raises(UsageError, match="`@ana` could be Ana Silva, Ana Ortiz: mention the one you mean"):
        parse_request("@ana", "U0MGR1", config, START)
    assert parse_request("@ana.ortiz", "U0MGR1", config, START).scope.owner_id == "U0SDR3"
    with pytest.raises(UsageError, match="Nobody on the Leadbot team is called `@jamie`"):
        parse_request("@jamie", "U0MGR1", config, START)


def _leadstats(bot, user_id: str, text: str) -> dict:
    body = slash_command_body(
        command="/leadstats", text=text, user_id=user_id, response_url=bot.slack.response_url(user_id)
    )
    status, raw, _ = post_signed(f"{bot.url}/slack/events", body, SIGNING_SECRET, "application/x-www-form-urlencoded")
    assert status == 200 and raw == ""  # acked at once; the answer follows through response_url
    return bot.slack.wait_for(lambda: bot.ephemeral_for(user_id))[-1]


def test_through_slack_a_bad_argument_is_ephemeral_and_a_managers_public_report_is_in_channel(bot):
    bot.post_lead({"email": "x@y.com"})
    bot.clock.advance(timedelta(minutes=1))

    bad = _leadstats(bot, "U0SDR1", "forever")
    assert bad["response_type"] == "ephemeral" and bad["text"].count("\n") == 0 and "Usage:" in bad["text"]

    shared = _leadstats(bot, "U0MGR1", "public")
    assert shared["response_type"] == "in_channel" and "Leads in: 1" in shared["text"]

    helped = _leadstats(bot, "U0SDR2", "help")
    assert "period: today, 7d (default)" in helped["text"]
    assert json.dumps(helped)  # a plain JSON answer


def test_leadbot_stats_prints_the_report_and_writes_the_rows_as_csv(
    database_url, history, tmp_path, monkeypatch, capsys
):
    import csv

    from bot.runtime.cli import main
    from tests.conftest import MINIMAL_CONFIG

    (tmp_path / "leadbot.yml").write_text(MINIMAL_CONFIG)
    monkeypatch.setenv("LEADBOT_CONFIG", str(tmp_path / "leadbot.yml"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    monday = START.date().isoformat()

    assert main(["stats", f"{monday}..{monday}"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"the team, {monday} to {monday}\n• Leads in: 4")
    assert "• @Sam Rivera: 2 · 4m · 50% · 0 · n/a" in printed

    assert main(["stats", f"{monday}..{monday}", "@U0SDR2", "--csv", "rows.csv"]) == 0
    rows = list(csv.DictReader((tmp_path / "rows.csv").open()))
    assert [(r["email"], r["seconds_to_first_touch"], r["first_touch_within_sla"], r["accepted"]) for r in rows] == [
        ("b@two.com", "1200.0", "False", "False"),
        ("d@four.com", "120.0", "True", "True"),
    ]

    assert main(["stats", "forever"]) == 2
    assert "`forever` is not something /leadstats knows" in capsys.readouterr().err

    assert main(["stats", "--rebuild"]) == 0
    assert "recomputed from the activity log" in capsys.readouterr().out
    assert main(["stats", f"{monday}..{monday}"]) == 0
    assert capsys.readouterr().out == printed


def test_time_to_first_touch_in_business_time_across_a_weekend(engine, clock):
    import yaml

    from tests.conftest import MINIMAL_CONFIG

    data = yaml.safe_load(MINIMAL_CONFIG)
    data["sla"]["business_hours"] = {"open": "09:00", "close": "18:00"}
    config = make_config(**data)
    prepare_database(engine, config)
    friday_1755 = START - timedelta(days=3) + timedelta(hours=8, minutes=55)  # START is Monday 09:00 New York
    clock.set(friday_1755)
    lead = accept_lead(engine, config, clock, parse_lead({"email": "late@friday.com"})).lead
    clock.set(START + timedelta(minutes=5))  # Monday 09:05
    log_touch(engine, config, clock, lead_id=lead.id, actor_id=lead.owner_id, via=ContactMethod.EMAIL, number=1)

    text = _report(engine, config, clock)

    # 2 days 15h10m on the wall; 5 minutes on Friday and 5 on Monday in business time.
    assert "median 2d 15h (10m in business hours), p90 2d 15h (10m in business hours)" in text


def test_the_first_touch_histogram_is_counted_in_sql(engine, clock, history):
    from store import stats
    from store.db import read_session

    with read_session(engine) as session:
        buckets = stats.first_touch_histogram(session, START - timedelta(days=1), clock.now(), stats.Scope())

    assert buckets[:3] == [("< 5m", 2), ("5-15m", 0), ("15-30m", 1)]  # 2m and 4m, then 20m
    assert sum(count for _, count in buckets) == 3


def test_leadstats_chart_uploads_a_png_to_the_askers_dm(bot):
    bot.post_lead({"email": "a@one.com"})
    bot.click_contacted(1, "U0SDR1")
    bot.slack.wait_for(lambda: bot.slack.calls_to("chat.update"))
    bot.clock.advance(timedelta(minutes=1))
    body = slash_command_body(
        command="/leadstats", text="chart", user_id="U0SDR1", response_url=bot.slack.response_url("U0SDR1")
    )

    status, raw, _ = post_signed(f"{bot.url}/slack/events", body, SIGNING_SECRET, "application/x-www-form-urlencoded")

    assert status == 200 and raw == ""
    upload = bot.slack.wait_for(lambda: next((u for u in bot.slack.uploads.values() if u.get("channel")), None))
    assert upload["channel"] == "D0SDR1" and upload["filename"] == "first-touch.png"
    assert upload["bytes"].startswith(b"\x89PNG") and len(upload["bytes"]) == upload["length"]
    assert upload["title"] == "Time to first touch: the team, the last 7 days"
    # A screen reader says the numbers the picture shows.
    assert upload["alt_txt"].startswith("Bar chart. Time to first touch: the team, the last 7 days.")
    assert "< 5m: 1, 5-15m: 0" in upload["alt_txt"]


def _facts(engine) -> list[tuple]:
    from sqlmodel import select

    from store.db import read_session
    from store.models import Lead

    with read_session(engine) as session:
        return session.exec(
            select(
                Lead.email,
                Lead.first_touch_seconds,
                Lead.first_touch_business_seconds,
                Lead.touched_after_reassignment,
                Lead.first_touch_breaches,
                Lead.escalations,
                Lead.last_escalated_at,
                Lead.rejections,
                Lead.reached_mql,
                Lead.reached_sql,
                Lead.reached_opportunity,
            ).order_by(Lead.id)
        ).all()


def test_the_report_facts_kept_with_each_event_are_what_the_activity_log_says(engine, clock, history):
    from store.db import write_session
    from store.report_facts import rebuild_facts
    from store.stats import pending_changes

    kept = _facts(engine)
    # Hand count: d@four.com touched at 2m and accepted; a@one.com at 4m; b@two.com breached, touched at
    # 20m; c@three.com breached and escalated, never touched.
    assert [(f[0], f[1], f[4], f[5], f[9], f[10]) for f in kept] == [
        ("a@one.com", 240.0, 0, 0, False, False),
        ("b@two.com", 1200.0, 1, 0, False, False),
        ("c@three.com", None, 1, 1, False, False),
        ("d@four.com", 120.0, 0, 0, True, True),
    ]
    with write_session(engine) as session:
        rebuild_facts(session)
        assert pending_changes(session) == 4  # every lead queued for the rollup again

    assert _facts(engine) == kept

    # The migration that introduced the facts carries its own frozen copy of the rebuild: it agrees too.
    migration = _load_migration("0007_report_facts.py")
    with engine.begin() as connection:
        connection.execute(text("UPDATE lead SET escalations = 0, first_touch_seconds = NULL, reached_sql = false"))
        migration._facts_from_the_log(connection)
    assert _facts(engine) == kept


def _load_migration(name: str):
    import importlib.util
    from pathlib import Path

    import store

    path = Path(store.__file__).parent / "migrations" / "versions" / name
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rollup_gives_the_same_numbers_as_counting_the_leads(engine, clock, history):
    from bot.reports.leadstats import fold_rollup
    from store.db import read_session
    from store.models import StatsDay
    from tests.conftest import count

    unfolded = _report(engine, history, clock, "30d")
    assert count(engine, StatsDay) == 0

    assert fold_rollup(engine) > 0
    assert count(engine, StatsDay) > 0
    assert _report(engine, history, clock, "30d") == unfolded

    # A change after the fold: its day is counted from the leads until the next fold.
    lead_id = 3
    clock.advance(timedelta(minutes=1))
    log_touch(engine, history, clock, lead_id=lead_id, actor_id="U0SDR1", via=ContactMethod.EMAIL, number=1)
    changed = _report(engine, history, clock, "30d")
    assert "Leakage: 0 never touched" in changed and changed != unfolded
    fold_rollup(engine)
    assert _report(engine, history, clock, "30d") == changed
    with read_session(engine) as session:
        from store.stats import pending_changes

        assert pending_changes(session) == 0


def test_a_lead_touched_only_after_its_reassignment_is_leakage_and_a_rep_with_no_leads_shows_zeros(engine, clock):
    config = make_config()
    prepare_database(engine, config)
    lead = accept_lead(engine, config, clock, parse_lead({"email": "slow@lead.com"})).lead  # Sam
    clock.advance(timedelta(hours=24, minutes=1))
    sweep(engine, config, clock.now())  # nobody touched it for a day: reassigned to Ana
    clock.advance(timedelta(minutes=3))
    log_touch(engine, config, clock, lead_id=lead.id, actor_id="U0SDR2", via=ContactMethod.CALL, number=1)

    text = _report(engine, config, clock)

    assert "Escalations 1 · reassignments 1" in text
    assert "Leakage: 0 never touched · 1 touched only after a reassignment · 0 open" in text
    # Ana owns it now (her clock ran from her assignment); Sam got no leads this week and still has his line.
    assert text.splitlines()[-2:] == [
        "• <@U0SDR2>: 1 · 3m · 100% · 0 · n/a · n/a · 0%",
        "• <@U0SDR1>: 0 · n/a · n/a · 0 · n/a · n/a · n/a",
    ]
    assert _report(engine, config, clock, "<@U0SDR1>") == "*Sam Rivera, the last 7 days*: no leads came in."


# -- where the time goes: the system's share, the rep's, and touches a system confirmed ---------------------
def test_the_report_splits_the_delay_into_the_systems_and_the_reps_and_counts_confirmed_touches(bot):
    bot.leadbot.relay.stop()  # DMs delivered by hand below, so each lead's delivery time is known
    submitted = bot.clock.now() - timedelta(minutes=3)
    sam = bot.post_lead({"email": "a@one.com", "created_at": submitted.isoformat()})[1]  # to Sam
    ana = bot.post_lead({"email": "b@two.com", "submitted_at": int(submitted.timestamp() * 1000)})[1]  # to Ana
    bot.clock.advance(timedelta(seconds=20))
    bot.leadbot.relay.deliver_due()  # both DMs reach Slack 20 s after intake
    bot.clock.advance(timedelta(minutes=5))
    assert bot.click_contacted(sam["id"], "U0SDR1") == 200  # a click in Slack only
    eventually(lambda: _lead(bot, sam["id"]).first_touch_at)
    bot.clock.advance(timedelta(minutes=5))
    logged = {"channel": "call", "by": "U0SDR2", "source": "hubspot", "external_id": "calls:1"}
    assert bot.post_json(f"/leads/{ana['id']}/touches", logged)[0] == 201  # a call the CRM logged

    first = _lead(bot, sam["id"])
    assert (first.source_created_at, first.source_seconds, first.delivery_seconds) == (submitted, 180.0, 20.0)
    assert (first.rep_seconds, first.confirmed_touch_at) == (300.0, None)
    second = _lead(bot, ana["id"])
    assert (second.rep_seconds, second.confirmed_touch_at) == (600.0, bot.clock.now())
    text = _report(bot.engine, bot.leadbot.config, bot.clock)
    assert (
        "Where the time goes: system 3m 20s (before Leadbot 3m, Leadbot to the DM 20s) · rep 5m (DM to first touch)"
        " · first touches confirmed by the CRM or a tool 50%, Slack click only 50%"
    ) in text
    assert text.splitlines()[-2:] == ["• <@U0SDR1>: 1 · 5m 20s · 100% · 0 · n/a · 5m · 0%",
                                      "• <@U0SDR2>: 1 · 10m 20s · 100% · 0 · n/a · 10m · 100%"]  # fmt: skip


def _lead(bot, lead_id: int):
    with read_session(bot.engine) as session:
        return lead_store.get_lead(session, lead_id)


@pytest.mark.parametrize(
    "text", ['source:"Paid Search"', "source:Paid Search", "source:“Paid Search”", "source:paid search 30d"]
)
def test_a_source_of_two_words_can_be_named_quoted_or_not(text):
    config = make_config()
    request = parse_request(text, "U0MGR1", config, START)
    assert (request.scope.source, request.scope_label) == ("Paid Search", "source Paid Search")


def test_an_unclosed_quote_is_a_usage_error():
    with pytest.raises(UsageError, match="quote is not closed"):
        parse_request('source:"Paid Search', "U0MGR1", make_config(), START)
