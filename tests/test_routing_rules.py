"""Routing rules, pools, methods, eligibility, the fallback ladder, existing owners and availability."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from bot.core.config import ConfigError, parse_config
from bot.devtools.standin.requests import post_signed, slash_command_body
from bot.intake.accept import accept_lead, parse_lead
from bot.routing.rotation import LeadFacts, assign_new_lead
from bot.runtime.app import prepare_database
from store import routing as rotation_store
from store.db import write_session
from tests.conftest import SIGNING_SECRET, make_config

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York

TEAM = """
timezone: America/New_York
channels: {escalations: C0ESCALATE, handoffs: C0HANDOFF}
team:
  - {slack_id: U0SDR1, name: Sam Rivera, role: sdr, territories: [NA], segments: [smb]}
  - {slack_id: U0SDR2, name: Ana Silva, role: sdr, territories: [EMEA], segments: [enterprise], weight: 2}
  - {slack_id: U0SDR3, name: Kai Moreno, role: sdr, territories: [EMEA], products: [api]}
  - {slack_id: U0SDR4, name: Lou Park, role: sdr, territories: [EMEA], segments: [enterprise], timezone: Asia/Tokyo}
  - {slack_id: U0AE1, name: Alex Kim, role: ae}
  - {slack_id: U0MGR1, name: Morgan Lee, role: manager}
sla: {business_hours: {open: "09:00", close: "18:00"}}
routing:
  fallback: U0MGR1
  rules:
    - {name: API, match: {product: [api]}, pool: {products: [api]}}
    - {name: Enterprise, match: {company_size: {min: 1000}}, pool: {segments: [enterprise]}, method: weighted}
    - {name: EMEA, match: {region: [EMEA]}, pool: {territories: [EMEA]}, respect_hours: true,
       fallback_pool: {reps: [U0SDR1]}}
    - {name: Partners, match: {source: [Partner]}, pool: {reps: [U0SDR1, U0SDR3]}, method: load_balanced}
"""


def config_with(**changes):
    data = yaml.safe_load(TEAM)
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[last] = value
    return parse_config(data, "test config")


@pytest.fixture
def routed(engine):
    """Route facts with a config, in one transaction each, as intake does."""

    def route(facts: LeadFacts, config=None, now: datetime = NOW):
        config = config or config_with()
        prepare_database(engine, config)
        with write_session(engine) as session:
            return assign_new_lead(session, config, facts, now)

    return route


def test_each_rule_type_picks_its_pool(routed):
    assert routed(LeadFacts(product="api")).owner_id == "U0SDR3"
    assert routed(LeadFacts(company_size="5000+")).owner_id in {"U0SDR2", "U0SDR4"}
    assert routed(LeadFacts(region="EMEA")).reason.startswith("EMEA rule → its pool, round robin")
    assert routed(LeadFacts(source="Partner")).reason.startswith("Partners rule → its pool, load balanced")
    default = routed(LeadFacts(region="NA", company_size="50"))
    assert default.reason.startswith("Default pool (all SDRs), round robin")


def test_the_first_matching_rule_wins(routed):
    # Matches API (first) and EMEA (third): API decides.
    assert routed(LeadFacts(product="api", region="EMEA")).reason.startswith("API rule")


def test_a_rep_outside_working_hours_is_skipped_when_the_rule_says_so(routed):
    # 10:00 in New York is midnight in Tokyo: Lou is skipped, the reason says so.
    picks = [routed(LeadFacts(region="EMEA")) for _ in range(3)]
    assert [p.owner_id for p in picks] == ["U0SDR2", "U0SDR3", "U0SDR2"]
    assert picks[0].reason == "EMEA rule → its pool, round robin, 1st of 2; Lou Park was outside working hours"


def test_away_inactive_and_full_reps_are_skipped_and_named(engine, routed, clock):
    config = config_with(team__0__max_open=1, team__2__active=False)
    prepare_database(engine, config)
    accept_lead(engine, config, clock, parse_lead({"email": "a@one.com", "region": "NA"}))  # Sam's one open lead
    with write_session(engine) as session:
        rotation_store.set_away(session, "U0SDR2", away=True, until=None, now=NOW, by="U0SDR2")

    pick = routed(LeadFacts(region="NA"), config)

    assert pick.owner_id == "U0SDR4"
    assert pick.reason == (
        "Default pool (all SDRs), round robin, 1st of 1; Sam Rivera was at capacity (1 open), "
        "Ana Silva was away, Kai Moreno was inactive"
    )


def test_someone_away_until_a_time_is_back_after_it(engine, routed):
    prepare_database(engine, config_with())
    with write_session(engine) as session:
        rotation_store.set_away(session, "U0SDR3", away=True, until=NOW + timedelta(hours=1), now=NOW, by="U0MGR1")

    assert routed(LeadFacts(product="api")).owner_id == "U0MGR1"  # the API pool is only Kai
    assert routed(LeadFacts(product="api"), now=NOW + timedelta(hours=2)).owner_id == "U0SDR3"


def test_the_fallback_ladder_ends_with_an_owner(engine, routed):
    # EMEA: Ana and Kai away, Lou asleep → the rule's fallback pool (Sam) → with Sam away too, the fallback owner.
    prepare_database(engine, config_with())
    with write_session(engine) as session:
        for rep in ("U0SDR2", "U0SDR3"):
            rotation_store.set_away(session, rep, away=True, until=None, now=NOW, by=rep)
    first = routed(LeadFacts(region="EMEA"))
    assert first.owner_id == "U0SDR1" and "→ its fallback pool, round robin, 1st of 1" in first.reason
    with write_session(engine) as session:
        rotation_store.set_away(session, "U0SDR1", away=True, until=None, now=NOW, by="U0SDR1")
    last = routed(LeadFacts(region="EMEA"))
    assert last.owner_id == "U0MGR1" and last.reason.endswith("so it went to the fallback owner (Morgan Lee)")


def test_load_balanced_gives_the_lead_to_the_rep_with_fewest_open_leads(engine, routed, clock):
    config = config_with()
    prepare_database(engine, config)
    for i in range(2):  # two open leads for Sam, none for Kai
        accept_lead(engine, config, clock, parse_lead({"email": f"x{i}@na{i}.com", "region": "NA"}))
    with write_session(engine) as session:
        assert rotation_store.open_lead_counts(session, ["U0SDR1", "U0SDR3"])["U0SDR3"] <= 1

    picks = [
        accept_lead(engine, config, clock, parse_lead({"email": f"p{i}@partner{i}.com", "source": "Partner"}))
        for i in range(3)
    ]

    with write_session(engine) as session:
        loads = rotation_store.open_lead_counts(session, ["U0SDR1", "U0SDR3"])
    assert abs(loads["U0SDR1"] - loads["U0SDR3"]) <= 1
    assert all("load balanced" in p.lead.routing_reason for p in picks)


@pytest.mark.parametrize(
    ("facts", "method", "expected"),
    [
        (
            LeadFacts(region="NA", company_size="10"),
            "round robin",
            {"U0SDR1": 250, "U0SDR2": 250, "U0SDR3": 250, "U0SDR4": 250},
        ),
        (LeadFacts(company_size="5000+"), "weighted", {"U0SDR2": 667, "U0SDR4": 333}),
    ],
)
def test_a_thousand_concurrent_leads_share_out_fairly(engine, clock, facts, method, expected):
    config = config_with(sla={})  # no business hours: everyone is in
    prepare_database(engine, config)

    def one(i: int):
        data = {"email": f"rush{i}@co{i}.com", "company_size": facts.company_size, "region": facts.region}
        return accept_lead(engine, config, clock, parse_lead({k: v for k, v in data.items() if v})).lead

    with ThreadPoolExecutor(8) as pool:
        leads = list(pool.map(one, range(1000)))

    counts = Counter(lead.owner_id for lead in leads)
    assert set(counts) == set(expected)
    assert all(abs(counts[rep] - n) <= 1 for rep, n in expected.items()), counts
    assert all(method in lead.routing_reason for lead in leads)


def test_weights_two_one_one_land_500_250_250(engine, clock):
    data = yaml.safe_load(TEAM)
    data["sla"] = {}
    data["team"][0]["segments"] = ["enterprise"]  # Sam (1), Ana (2), Lou (1)
    config = parse_config(data, "test config")
    prepare_database(engine, config)

    with ThreadPoolExecutor(8) as pool:
        leads = list(
            pool.map(
                lambda i: (
                    accept_lead(
                        engine, config, clock, parse_lead({"email": f"w{i}@big{i}.com", "company_size": 20000})
                    ).lead
                ),
                range(1000),
            )
        )

    counts = Counter(lead.owner_id for lead in leads)
    assert all(abs(counts[rep] - n) <= 1 for rep, n in {"U0SDR1": 250, "U0SDR2": 500, "U0SDR4": 250}.items())


def test_existing_owner_comes_first_but_never_for_free_email_and_can_be_switched_off(engine, clock):
    config = config_with(sla={})
    prepare_database(engine, config)
    first = accept_lead(engine, config, clock, parse_lead({"email": "cto@acme.io", "region": "NA"})).lead
    same_company = accept_lead(engine, config, clock, parse_lead({"email": "vp@acme.io", "product": "api"})).lead
    gmail_a = accept_lead(engine, config, clock, parse_lead({"email": "a@gmail.com", "region": "NA"})).lead
    gmail_b = accept_lead(engine, config, clock, parse_lead({"email": "b@gmail.com", "region": "NA"})).lead

    assert same_company.owner_id == first.owner_id
    assert (
        same_company.routing_reason
        == f"Existing owner: {config.member(first.owner_id).name} already works with acme.io"
    )
    assert gmail_a.owner_id != gmail_b.owner_id

    switched_off = config_with(sla={}, routing__existing_owner=False)
    third = accept_lead(engine, switched_off, clock, parse_lead({"email": "cfo@acme.io", "product": "api"})).lead
    assert third.routing_reason.startswith("API rule")


def test_a_rule_naming_someone_off_the_team_is_a_config_error():
    with pytest.raises(ConfigError, match="routing.rules: rule 'API' names U0NOBODY, who is not on the team"):
        config_with(routing__rules=[{"name": "API", "pool": {"reps": ["U0NOBODY"]}}])


# -- /leadbot away and back, through Slack -------------------------------------------------------------------
def _leadbot(bot, user_id: str, text: str) -> str:
    body = slash_command_body(
        command="/leadbot", text=text, user_id=user_id, response_url=bot.slack.response_url(user_id)
    )
    status, raw, _ = post_signed(f"{bot.url}/slack/events", body, SIGNING_SECRET, "application/x-www-form-urlencoded")
    assert status == 200
    return json.loads(raw)["text"]


def test_a_rep_sets_themselves_away_and_back_and_routing_follows(bot):
    assert _leadbot(bot, "U0SDR1", "away").startswith("You are away until `/leadbot back`")
    owners = [bot.post_lead({"email": f"a{i}@c{i}.com"})[1]["owner"] for i in range(2)]
    assert owners == ["U0SDR2", "U0SDR2"]

    assert _leadbot(bot, "U0SDR1", "back") == "You are back: new leads are routed again."
    assert bot.post_lead({"email": "b@d.com"})[1]["owner"] == "U0SDR1"


def test_a_manager_sets_a_rep_away_until_a_date_and_others_cannot(bot):
    answer = _leadbot(bot, "U0MGR1", "away <@U0SDR2|ana> 2026-12-01")
    assert answer.startswith("<@U0SDR2> is away until <!date^")
    assert _leadbot(bot, "U0SDR1", "away <@U0SDR2>") == "Only a manager can set someone else's availability."
    assert "is not a time" in _leadbot(bot, "U0SDR1", "away someday")
    assert "is already past" in _leadbot(bot, "U0SDR1", "away 2020-01-01")
    assert "not on the Leadbot team" in _leadbot(bot, "U0MGR1", "away <@U0STRANGER>")
    assert [bot.post_lead({"email": f"m{i}@n{i}.com"})[1]["owner"] for i in range(2)] == ["U0SDR1", "U0SDR1"]


def test_people_can_be_named_as_typed_and_silly_times_get_an_answer_not_an_error(bot):
    # Slack sends <@U…|name> with should_escape: true; a name typed without picking it arrives as typed.
    assert _leadbot(bot, "U0MGR1", "away @ana.silva 2h").startswith("<@U0SDR2> is away until")
    assert _leadbot(bot, "U0MGR1", "back @Ana") == "<@U0SDR2> is back: new leads are routed again."
    assert "Nobody on the Leadbot team is called `@jamie`" in _leadbot(bot, "U0MGR1", "away @jamie")
    for too_far in ("100000000d", "9999999999999999999999d", "2999-01-01"):
        assert "more than a year away" in _leadbot(bot, "U0SDR1", f"away {too_far}") or "is not a time" in (
            _leadbot(bot, "U0SDR1", f"away {too_far}")
        ), too_far


def test_a_reassigned_lead_credits_the_old_owners_turn_back(engine, clock):
    from bot.sla.reassignment import pick_next_owner, reassign_lead
    from store import leads as lead_store

    config = config_with(sla={})
    prepare_database(engine, config)
    lead = accept_lead(engine, config, clock, parse_lead({"email": "a@big1.com", "company_size": 9000})).lead
    with write_session(engine) as session:
        assert rotation_store.lock_rotation(session, "rule:Enterprise").counts == {lead.owner_id: 1}

    with write_session(engine) as session:
        stored = lead_store.get_lead(session, lead.id)
        to = pick_next_owner(session, stored, config, clock.now())
        reassign_lead(session, stored, config, clock.now(), actor="system", why="test", to=to)

    with write_session(engine) as session:
        assert rotation_store.lock_rotation(session, "rule:Enterprise").counts == {lead.owner_id: 0}


def test_round_robin_gives_a_rep_who_lost_a_lead_the_next_turn_and_keeps_everyone_elses_place(engine, clock):
    from bot.sla.reassignment import pick_next_owner, reassign_lead
    from store import leads as lead_store

    config = make_config(
        team=[
            {"slack_id": "U0SDR1", "name": "Sam Rivera", "role": "sdr"},
            {"slack_id": "U0SDR2", "name": "Ana Silva", "role": "sdr"},
            {"slack_id": "U0SDR3", "name": "Lou Park", "role": "sdr"},
            {"slack_id": "U0MGR1", "name": "Morgan Lee", "role": "manager"},
        ]
    )
    prepare_database(engine, config)

    def new_lead(n: int) -> str:
        return accept_lead(engine, config, clock, parse_lead({"email": f"l{n}@c{n}.com"})).lead.owner_id

    assert [new_lead(n) for n in range(2)] == ["U0SDR1", "U0SDR2"]
    with write_session(engine) as session:  # Sam's lead goes to the next SDR after Sam: Ana
        lead = lead_store.lock_lead(session, 1)
        reassign_lead(
            session,
            lead,
            config,
            clock.now(),
            actor="system",
            why="test",
            to=pick_next_owner(session, lead, config, clock.now()),
        )
        assert lead.owner_id == "U0SDR2"

    # Sam is owed the turn he lost, then the rotation goes on from where it was (Lou), so Ana, who received
    # Sam's lead, does not also get the next one.
    assert [new_lead(n) for n in range(2, 6)] == ["U0SDR1", "U0SDR3", "U0SDR1", "U0SDR2"]
    with write_session(engine) as session:
        state = rotation_store.lock_rotation(session, "sdr")
        assert state.credits == {"U0SDR1": 0} and state.counts == {"U0SDR1": 2, "U0SDR2": 2, "U0SDR3": 1}


# -- sales regions from countries ------------------------------------------------------------------------
@pytest.mark.parametrize("country", ["Germany", "DE", "DEU", "Deutschland", "germany ", "UK", "United Arab Emirates"])
def test_a_lead_with_only_a_country_matches_a_rule_on_its_sales_region(engine, clock, country):
    config = config_with()
    prepare_database(engine, config)
    lead = accept_lead(engine, config, clock, parse_lead({"email": "a@one.de", "country": country})).lead
    assert lead.routing_reason.startswith("EMEA rule → its pool")
    assert lead.region is None and lead.country == country.strip()  # stored as given; the region is derived


@pytest.mark.parametrize(("country", "rule"), [("United States", "Default pool"), ("Brazil", "Default pool"),
                                              ("Japan", "Default pool"), ("Bavaria", "Default pool")])  # fmt: skip
def test_countries_outside_the_rules_region_do_not_match_it(engine, clock, country, rule):
    config = config_with()
    prepare_database(engine, config)
    lead = accept_lead(engine, config, clock, parse_lead({"email": "a@one.io", "country": country})).lead
    assert lead.routing_reason.startswith(rule)


def test_a_country_can_be_moved_to_another_region_and_an_unknown_one_is_refused(engine, clock):
    config = config_with(routing__country_regions={"Mexico": "EMEA"})  # an odd split, to show the override
    prepare_database(engine, config)
    lead = accept_lead(engine, config, clock, parse_lead({"email": "a@one.mx", "country": "MX"})).lead
    assert lead.routing_reason.startswith("EMEA rule")
    with pytest.raises(ConfigError, match="'Atlantis' is not a country"):
        config_with(routing__country_regions={"Atlantis": "EMEA"})
