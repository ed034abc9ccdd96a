"""The unclaimed channel: a lead nobody could take is offered with Claim; the first eligible click wins."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from bot.devtools.standin.requests import button_action
from store import leads as lead_store
from store import routing as rotation_store
from store.db import read_session, write_session
from tests.conftest import MINIMAL_CONFIG, START, eventually, make_config


@pytest.fixture
def bot_config():
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["channels"]["unclaimed"] = "C0UNCLAIM"
    return make_config(**data)


def _everyone_away(bot, *reps):
    with write_session(bot.engine) as session:
        for rep in reps:
            rotation_store.set_away(session, rep, away=True, until=None, now=START, by=rep)


def _offer(bot) -> dict:
    return bot.slack.wait_for(lambda: next(iter(bot.slack.messages_in("C0UNCLAIM")), None))


def _claim(bot, user_id: str, offer: dict) -> int:
    button = next(e for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"])
    return bot.send_action(user_id, button_action("lead.claim", f"claim:{offer['ts']}", button["value"]), offer)


def _owner(bot, lead_id: int) -> str:
    with read_session(bot.engine) as session:
        return lead_store.get_lead(session, lead_id).owner_id


def test_a_lead_nobody_can_take_is_held_by_the_fallback_and_offered_for_claim(bot):
    _everyone_away(bot, "U0SDR1", "U0SDR2")

    status, body = bot.post_lead({"email": "orphan@acme.io", "first_name": "Olive"})

    assert status == 201 and body["owner"] == "U0MGR1"
    assert "offered in the unclaimed channel; Morgan Lee holds it" in body["routing_reason"]
    offer = _offer(bot)
    assert "Unclaimed lead:* Olive" in json.dumps(offer["blocks"])
    assert bot.channel_messages("D0MGR1", 1)  # the holder has the alert meanwhile: never a lead without an owner


def test_the_first_eligible_claim_wins_and_everyone_is_told(bot):
    _everyone_away(bot, "U0SDR1", "U0SDR2")
    _, body = bot.post_lead({"email": "orphan@acme.io", "first_name": "Olive"})
    offer = _offer(bot)
    eventually(lambda: bot.slack.messages_in("D0MGR1"))
    with write_session(bot.engine) as session:
        rotation_store.set_away(session, "U0SDR2", away=False, until=None, now=START, by="U0SDR2")

    assert _claim(bot, "U0SDR1", offer) == 200  # still away
    assert _claim(bot, "U0AE1", offer) == 200  # not an SDR
    assert _claim(bot, "U0SDR2", offer) == 200

    bot.slack.wait_for(lambda: offer["edits"] == 1)
    assert _owner(bot, body["id"]) == "U0SDR2"
    assert "Claimed by <@U0SDR2>" in json.dumps(offer["blocks"])
    assert bot.channel_messages("D0SDR2", 1)  # the claimer gets the alert
    told = bot.slack.wait_for(lambda: [m for m in bot.slack.messages_in("D0MGR1") if m["thread_ts"]])
    assert "<@U0SDR2> claimed Olive" in told[0]["text"]
    refusals = bot.slack.wait_for(
        lambda: (
            len(bot.ephemeral_for("U0SDR1") + bot.ephemeral_for("U0AE1")) == 2
            and bot.ephemeral_for("U0SDR1") + bot.ephemeral_for("U0AE1")
        )
    )
    assert "you are away" in refusals[0]["text"] and "only SDRs on the Leadbot team" in refusals[1]["text"]


def test_two_claims_at_once_one_winner_and_the_other_is_told(bot):
    _everyone_away(bot, "U0SDR1", "U0SDR2")
    _, body = bot.post_lead({"email": "orphan@acme.io"})
    offer = _offer(bot)
    with write_session(bot.engine) as session:
        for rep in ("U0SDR1", "U0SDR2"):
            rotation_store.set_away(session, rep, away=False, until=None, now=START, by=rep)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda rep: _claim(bot, rep, offer), ["U0SDR1", "U0SDR2"]))

    winner = eventually(lambda: (owner := _owner(bot, body["id"])) != "U0MGR1" and owner)
    loser = "U0SDR2" if winner == "U0SDR1" else "U0SDR1"
    reply = bot.slack.wait_for(lambda: bot.ephemeral_for(loser))
    assert f"Already claimed: <@{winner}> was first" in reply[0]["text"]
    with read_session(bot.engine) as session:
        kinds = [a.kind for a in lead_store.activities(session, body["id"])]
    assert kinds.count("claimed") == 1


def test_a_successful_claim_answers_nothing_but_the_new_alert(bot):
    _everyone_away(bot, "U0SDR1", "U0SDR2")
    _, body = bot.post_lead({"email": "orphan@acme.io"})
    offer = _offer(bot)
    with write_session(bot.engine) as session:
        rotation_store.set_away(session, "U0SDR1", away=False, until=None, now=START, by="U0SDR1")

    _claim(bot, "U0SDR1", offer)

    bot.slack.wait_for(lambda: bot.slack.messages_in("D0SDR1"))  # the claimer's alert
    assert eventually(lambda: _owner(bot, body["id"]) == "U0SDR1")
    assert bot.ephemeral_for("U0SDR1") == []  # no refusal, and no "hit an error"
