"""Round robin over active SDRs: atomic, persistent, and never without an owner."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml

from bot.routing.rotation import LeadFacts, assign_new_lead, next_in_rotation
from store.db import write_session
from tests.conftest import MINIMAL_CONFIG, RunningBot, make_config, start_bot, stop_bot

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_next_in_rotation_walks_the_config_order_and_skips_the_ineligible():
    order = ["A", "B", "C", "D"]
    assert next_in_rotation(order, {"A", "B", "C", "D"}, None) == ("A", 1)
    assert next_in_rotation(order, {"A", "B", "C", "D"}, "D") == ("A", 1)
    assert next_in_rotation(order, {"A", "C", "D"}, "A") == ("C", 2)
    assert next_in_rotation(order, {"A", "D"}, "B") == ("D", 2)  # the last one may have left the pool
    assert next_in_rotation(order, {"B"}, "Z") == ("B", 1)
    assert next_in_rotation(order, set(), "A") is None


def test_new_leads_go_round_robin_over_active_sdrs(bot):
    owners = [bot.post_lead({"email": f"p{i}@acme{i}.com"})[1]["owner"] for i in range(5)]
    assert owners == ["U0SDR1", "U0SDR2", "U0SDR1", "U0SDR2", "U0SDR1"]


def _config_with(changes):
    data = yaml.safe_load(MINIMAL_CONFIG)
    changes(data)
    return make_config(**data)


def test_an_inactive_sdr_is_skipped_and_the_reason_says_so(engine):
    config = _config_with(lambda d: d["team"][0].update(active=False))
    from bot.runtime.app import prepare_database

    prepare_database(engine, config)
    with write_session(engine) as session:
        picks = [assign_new_lead(session, config, LeadFacts(), NOW) for _ in range(2)]

    assert [p.owner_id for p in picks] == ["U0SDR2", "U0SDR2"]
    assert picks[0].reason == "Default pool (all SDRs), round robin, 1st of 1; Sam Rivera was inactive"


def test_with_no_sdr_available_the_lead_goes_to_the_fallback(engine):
    config = _config_with(lambda d: [m.update(active=False) for m in d["team"] if m["role"] == "sdr"])
    from bot.runtime.app import prepare_database

    prepare_database(engine, config)
    with write_session(engine) as session:
        pick = assign_new_lead(session, config, LeadFacts(), NOW)

    assert pick.owner_id == "U0MGR1"
    assert "fallback owner (Morgan Lee)" in pick.reason


def test_the_rotation_survives_a_restart(database_url, fake_slack, clock):
    leadbot, server = start_bot(database_url, fake_slack, clock)
    first = RunningBot(leadbot, server.url, fake_slack, clock).post_lead({"email": "one@acme.com"})[1]["owner"]
    stop_bot(leadbot, server)

    leadbot, server = start_bot(database_url, fake_slack, clock)
    second = RunningBot(leadbot, server.url, fake_slack, clock).post_lead({"email": "two@globex.com"})[1]["owner"]
    stop_bot(leadbot, server)

    assert (first, second) == ("U0SDR1", "U0SDR2")
