"""Every button that changes an owner or a stage, clicked by several people at the same moment, on PostgreSQL.

SQLite's one write lock serialises whole transactions, which hides lost updates; PostgreSQL runs them side by
side at READ COMMITTED, so each transition must lock the lead (or be conditional on what it read) itself.
Every test clicks many leads at once, so that a missing guard shows on some of them, and then checks that each
lead changed exactly once and that everyone else was told so politely.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import yaml
from sqlmodel import select

from bot.devtools.standin.requests import button_action, send_view_submission
from bot.sla.sweep import sweep
from store import leads as lead_store
from store import timers as timer_store
from store.db import read_session
from store.models import Activity, Lead, Opportunity, OutboxMessage
from tests.conftest import MINIMAL_CONFIG, SIGNING_SECRET, eventually, make_config

HOUR = timedelta(hours=1)
LEADS = 20
QUALIFIED = {
    "notes": "Budget approved",
    "need": "Leads go cold",
    "budget": "20k",
    "timeline": "Q1",
    "decision_maker": "VP",
}


@pytest.fixture(autouse=True)
def _postgresql_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's single writer serialises these by itself; the race exists on PostgreSQL")


@pytest.fixture
def bot_config():
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["team"].append({"slack_id": "U0MGR2", "name": "Riley Chen", "role": "manager"})
    data["team"].append({"slack_id": "U0AE2", "name": "Jo Park", "role": "ae"})
    return make_config(team=data["team"])


def at_once(calls: list) -> list:
    """Run the calls on as many threads, released together, and return their results in order."""
    gate = threading.Barrier(len(calls))

    def run(call):
        gate.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _new_leads(bot, n: int = LEADS) -> list[int]:
    ids = []
    for i in range(n):
        status, body = bot.post_lead({"email": f"buyer{i}@company{i}.io", "company": f"Company {i}"})
        assert status == 201
        ids.append(body["id"])
    return ids


def _kinds(bot, lead_id: int) -> Counter:
    with read_session(bot.engine) as session:
        return Counter(a.kind for a in lead_store.activities(session, lead_id))


def _lead(bot, lead_id: int) -> Lead:
    with read_session(bot.engine) as session:
        return lead_store.get_lead(session, lead_id)


def _answers(bot, users) -> list[dict]:
    return [r for user in users for r in bot.ephemeral_for(user)]


def _no_errors(bot, users) -> None:
    assert not [r["text"] for r in _answers(bot, users) if "hit an error" in r["text"]]


def _button(message: dict, action_id: str) -> dict:
    block = next(
        b
        for b in message["blocks"]
        if b["type"] == "actions" and any(e["action_id"] == action_id for e in b["elements"])
    )
    element = next(e for e in block["elements"] if e["action_id"] == action_id)
    return button_action(action_id, block["block_id"], element["value"])


def _press(bot, user_id: str, message: dict, action_id: str):
    action = _button(message, action_id)
    return lambda: bot.send_action(user_id, action, message)


def _submit(bot, user_id: str, view: dict, values: dict):
    return lambda: send_view_submission(
        url=bot.url, signing_secret=SIGNING_SECRET, user_id=user_id, view=view, values=values
    )


def _contact_all(bot, ids: list[int]) -> dict[int, dict]:
    alerts = {}
    for lead_id in ids:
        alert = bot.alert_for(lead_id)
        bot.click_contacted(lead_id, _lead(bot, lead_id).owner_id)
        bot.slack.wait_for(lambda alert=alert: alert["edits"] >= 1)
        alerts[lead_id] = alert
    return alerts


def _open_modal(bot, user_id: str, message: dict, action_id: str) -> dict:
    opened = len(bot.slack.opened_views)
    _press(bot, user_id, message, action_id)()
    return bot.slack.wait_for(lambda: len(bot.slack.opened_views) > opened and bot.slack.opened_views[-1])["view"]


# -- the escalation's Take it and Reassign now -------------------------------------------------------------
def test_four_clicks_at_once_on_an_escalation_reassign_the_lead_once(bot):
    ids = _new_leads(bot, 30)
    bot.sweep(2 * HOUR + timedelta(minutes=1))
    escalations = {
        json.loads(_button(m, "escalation.take_it")["value"])["lead_id"]: m
        for m in bot.channel_messages("C0ESCALATE", 30)
    }
    assert sorted(escalations) == ids
    people = ["U0SDR1", "U0SDR2", "U0MGR1", "U0MGR2"]
    calls = []
    for lead_id in ids:
        escalation = escalations[lead_id]
        calls += [
            _press(bot, "U0SDR1", escalation, "escalation.take_it"),
            _press(bot, "U0SDR2", escalation, "escalation.take_it"),
            _press(bot, "U0MGR1", escalation, "escalation.reassign_now"),
            _press(bot, "U0MGR2", escalation, "escalation.reassign_now"),
        ]
    for start in range(0, len(calls), 4 * 5):  # five leads' clicks at a time, each lead's four together
        assert set(at_once(calls[start : start + 20])) == {200}

    def reassigned() -> int:
        return sum(_kinds(bot, lead_id)["reassigned"] for lead_id in ids)

    # Each click either reassigns or is told "already handled".
    eventually(lambda: reassigned() + len(_answers(bot, people)) >= len(calls), timeout=30)
    _no_errors(bot, people)
    with read_session(bot.engine) as session:
        new_alerts = Counter(
            m.lead_id
            for m in session.exec(select(OutboxMessage).where(OutboxMessage.ref == "alert")).all()
            if m.method == "chat.postMessage"
        )
    for lead_id in ids:
        lead = _lead(bot, lead_id)
        assert _kinds(bot, lead_id)["reassigned"] == 1, f"lead {lead_id} reassigned more than once"
        assert lead.reassign_count == 1
        assert new_alerts[lead_id] == 2, "the first owner's alert and one for the new owner"
    assert all("Already handled" in r["text"] for r in _answers(bot, people))


# -- the SDR's buttons on the DM -----------------------------------------------------------------------------
def test_contacted_by_the_owner_and_a_manager_at_once_logs_one_touch(bot):
    ids = _new_leads(bot)
    calls = []
    for lead_id in ids:
        owner = _lead(bot, lead_id).owner_id
        calls += [lambda lead_id=lead_id, who=who: bot.click_contacted(lead_id, who) for who in (owner, "U0MGR1")]
    assert set(at_once(calls)) == {200}

    eventually(lambda: all(_lead(bot, lead_id).touch_count == 1 for lead_id in ids))
    eventually(lambda: len(_answers(bot, ["U0SDR1", "U0SDR2", "U0MGR1"])) == len(ids))
    _no_errors(bot, ["U0SDR1", "U0SDR2", "U0MGR1"])
    for lead_id in ids:
        kinds = _kinds(bot, lead_id)
        assert kinds["touch"] == 1 and kinds["stage_changed"] == 1
        lead = _lead(bot, lead_id)
        assert lead.idle_period == 1, "one touch starts one new idle period"
        with read_session(bot.engine) as session:
            pending = Counter(t.kind for t in timer_store.pending_for_lead(session, lead_id))
        # A worked lead (Attempting Contact) is escalated when idle, never reassigned by a timer.
        assert pending == {"escalate": 1}


def test_engaged_by_the_owner_and_a_manager_at_once_moves_the_stage_once(bot):
    ids = _new_leads(bot)
    alerts = _contact_all(bot, ids)
    calls = []
    for lead_id in ids:
        owner = _lead(bot, lead_id).owner_id
        calls += [_press(bot, who, alerts[lead_id], "lead.engaged") for who in (owner, "U0MGR1")]
    at_once(calls)

    people = ["U0SDR1", "U0SDR2", "U0MGR1"]
    eventually(lambda: len(_answers(bot, people)) == len(ids))
    _no_errors(bot, people)
    for lead_id in ids:
        assert _lead(bot, lead_id).stage == "engaged"
        assert _kinds(bot, lead_id)["stage_changed"] == 2  # New → Attempting Contact, then → Engaged once
        assert _lead(bot, lead_id).idle_period == 2


def test_qualify_submitted_twice_at_once_hands_off_once(bot):
    ids = _new_leads(bot, 10)
    alerts = _contact_all(bot, ids)
    calls = []
    for lead_id in ids:
        owner = _lead(bot, lead_id).owner_id
        view = _open_modal(bot, owner, alerts[lead_id], "lead.qualify")
        calls += [_submit(bot, owner, view, QUALIFIED), _submit(bot, "U0MGR1", view, QUALIFIED)]
    answers = at_once(calls)

    assert all(status == 200 for status, _ in answers)
    refused = [json.loads(body) for _, body in answers if body]
    assert len(refused) == len(ids)  # one submission per lead wins and closes its modal; the other is told
    assert all(r["response_action"] == "update" and "already an SQL" in json.dumps(r["view"]) for r in refused)
    for lead_id in ids:
        assert _kinds(bot, lead_id)["handed_off"] == 1
    with read_session(bot.engine) as session:
        handed = session.exec(select(Activity).where(Activity.kind == "handed_off")).all()
    # The AE rotation took one turn per SQL: two AEs, ten SQLs, five each.
    assert Counter(a.data["ae"] for a in handed) == {"U0AE1": 5, "U0AE2": 5}


def test_qualify_and_disqualify_at_once_one_of_them_wins(bot):
    ids = _new_leads(bot, 10)
    alerts = _contact_all(bot, ids)
    calls = []
    for lead_id in ids:
        owner = _lead(bot, lead_id).owner_id
        qualify = _open_modal(bot, owner, alerts[lead_id], "lead.qualify")
        disqualify = _open_modal(bot, "U0MGR1", alerts[lead_id], "lead.disqualify")
        calls += [
            _submit(bot, owner, qualify, QUALIFIED),
            _submit(bot, "U0MGR1", disqualify, {"reason": "student", "notes": ""}),
        ]
    answers = at_once(calls)

    assert sum(1 for _, body in answers if body) == len(ids)
    for lead_id in ids:
        kinds = _kinds(bot, lead_id)
        assert kinds["handed_off"] + kinds["disqualified"] == 1
        lead = _lead(bot, lead_id)
        assert lead.stage == ("sql" if kinds["handed_off"] else "disqualified")
        with read_session(bot.engine) as session:
            pending = {t.kind for t in timer_store.pending_for_lead(session, lead_id)}
        assert pending == ({"ae_reminder", "ae_escalate"} if lead.stage == "sql" else set())


def test_disqualify_submitted_twice_at_once_closes_the_lead_once(bot):
    ids = _new_leads(bot, 10)
    alerts = _contact_all(bot, ids)
    calls = []
    for lead_id in ids:
        owner = _lead(bot, lead_id).owner_id
        view = _open_modal(bot, owner, alerts[lead_id], "lead.disqualify")
        values = {"reason": "student", "notes": ""}
        calls += [_submit(bot, owner, view, values), _submit(bot, "U0MGR1", view, values)]
    answers = at_once(calls)

    assert sum(1 for _, body in answers if body) == len(ids)
    for lead_id in ids:
        assert _kinds(bot, lead_id)["disqualified"] == 1
        assert not _lead(bot, lead_id).is_open


# -- the AE's Accept and Reject ----------------------------------------------------------------------------
def _handoffs(bot, ids: list[int]) -> dict[int, dict]:
    alerts = _contact_all(bot, ids)
    for lead_id in ids:
        owner = _lead(bot, lead_id).owner_id
        status, body = _submit(bot, owner, _open_modal(bot, owner, alerts[lead_id], "lead.qualify"), QUALIFIED)()
        assert (status, body) == (200, "")
    posted = bot.channel_messages("C0HANDOFF", len(ids))
    return {json.loads(_button(m, "handoff.accept")["value"])["lead_id"]: m for m in posted}


def test_accept_by_the_ae_and_a_manager_at_once_creates_one_opportunity(bot):
    ids = _new_leads(bot, 10)
    handoffs = _handoffs(bot, ids)
    calls = []
    for lead_id in ids:
        ae = _lead(bot, lead_id).ae_id
        calls += [_press(bot, who, handoffs[lead_id], "handoff.accept") for who in (ae, "U0MGR1", "U0MGR2")]
    at_once(calls)

    people = ["U0AE1", "U0AE2", "U0MGR1", "U0MGR2"]
    eventually(lambda: len(_answers(bot, people)) == 2 * len(ids))
    _no_errors(bot, people)
    with read_session(bot.engine) as session:
        opportunities = Counter(o.lead_id for o in session.exec(select(Opportunity)).all())
    assert opportunities == dict.fromkeys(ids, 1)
    for lead_id in ids:
        assert _kinds(bot, lead_id)["accepted"] == 1


def test_reject_by_the_ae_and_a_manager_at_once_sends_the_lead_back_once(bot):
    ids = _new_leads(bot, 10)
    handoffs = _handoffs(bot, ids)
    calls = []
    for lead_id in ids:
        ae = _lead(bot, lead_id).ae_id
        views = [_open_modal(bot, who, handoffs[lead_id], "handoff.reject") for who in (ae, "U0MGR1")]
        values = {"reason": "bad_timing", "notes": ""}
        calls += [_submit(bot, ae, views[0], values), _submit(bot, "U0MGR1", views[1], values)]
    answers = at_once(calls)

    assert sum(1 for _, body in answers if body) == len(ids)
    for lead_id in ids:
        lead = _lead(bot, lead_id)
        assert _kinds(bot, lead_id)["rejected"] == 1
        assert (lead.stage, lead.rejections) == ("engaged", 1)
        with read_session(bot.engine) as session:
            pending = Counter(t.kind for t in timer_store.pending_for_lead(session, lead_id))
        assert pending == {"escalate": 1}, "the SDR's idle clock runs again, once"


def test_accept_and_reject_at_once_one_of_them_wins(bot):
    ids = _new_leads(bot, 10)
    handoffs = _handoffs(bot, ids)
    calls = []
    for lead_id in ids:
        ae = _lead(bot, lead_id).ae_id
        reject = _open_modal(bot, "U0MGR1", handoffs[lead_id], "handoff.reject")
        calls += [
            _press(bot, ae, handoffs[lead_id], "handoff.accept"),
            _submit(bot, "U0MGR1", reject, {"reason": "bad_timing", "notes": ""}),
        ]
    at_once(calls)

    eventually(lambda: all(sum(_kinds(bot, i)[k] for k in ("accepted", "rejected")) >= 1 for i in ids))
    for lead_id in ids:
        kinds = _kinds(bot, lead_id)
        assert kinds["accepted"] + kinds["rejected"] == 1
        assert _lead(bot, lead_id).stage == ("accepted" if kinds["accepted"] else "engaged")


# -- the unclaimed channel's Claim ---------------------------------------------------------------------------
def test_claims_at_once_give_each_lead_one_owner(database_url, fake_slack, clock, tmp_path):
    from store import routing as rotation_store
    from store.db import write_session
    from tests.conftest import START, RunningBot, start_bot, stop_bot

    data = yaml.safe_load(MINIMAL_CONFIG)
    config = make_config(channels={**data["channels"], "unclaimed": "C0UNCLAIMED"})
    leadbot, server = start_bot(database_url, fake_slack, clock, config)
    bot = RunningBot(leadbot, server.url, fake_slack, clock)
    try:
        with write_session(bot.engine) as session:
            for rep in ("U0SDR1", "U0SDR2"):
                rotation_store.set_away(session, rep, away=True, until=None, now=START, by=rep)
        ids = _new_leads(bot, 15)
        offers = bot.channel_messages("C0UNCLAIMED", len(ids))
        with write_session(bot.engine) as session:
            for rep in ("U0SDR1", "U0SDR2"):
                rotation_store.set_away(session, rep, away=False, until=None, now=START, by=rep)
        calls = [_press(bot, rep, offer, "lead.claim") for offer in offers for rep in ("U0SDR1", "U0SDR2")]
        at_once(calls)

        eventually(lambda: len(_answers(bot, ["U0SDR1", "U0SDR2"])) == len(ids))
        for lead_id in ids:
            assert _kinds(bot, lead_id)["claimed"] == 1
            assert _lead(bot, lead_id).owner_id in ("U0SDR1", "U0SDR2")
            assert _lead(bot, lead_id).idle_period == 1
    finally:
        stop_bot(leadbot, server)


# -- a click and a timer at the same moment ----------------------------------------------------------------
def test_a_touch_and_the_reassignment_timer_at_once_never_both_act(bot):
    ids = _new_leads(bot, 30)
    owners = {lead_id: _lead(bot, lead_id).owner_id for lead_id in ids}
    for lead_id in ids:
        bot.alert_for(lead_id)
    bot.clock.advance(24 * HOUR + timedelta(minutes=1))
    now = bot.clock.now()
    # A third of the leads get no click: the timer alone reassigns them, so both outcomes are always checked.
    clicked = [lead_id for n, lead_id in enumerate(ids) if n % 3]
    clicks = [lambda lead_id=lead_id: bot.click_contacted(lead_id, owners[lead_id]) for lead_id in clicked]
    sweeps = [lambda: sweep(bot.engine, bot.leadbot.config, now) for _ in range(2)]
    at_once(sweeps + clicks)

    people = ["U0SDR1", "U0SDR2"]
    # Each click either logs its touch or is told the lead has a new owner.
    eventually(lambda: sum(_kinds(bot, i)["touch"] for i in ids) + len(_answers(bot, people)) >= len(clicked), 30)
    eventually(lambda: all(_kinds(bot, i)["touch"] + _kinds(bot, i)["reassigned"] for i in ids), 30)
    _no_errors(bot, people)
    for lead_id in ids:
        kinds = _kinds(bot, lead_id)
        lead = _lead(bot, lead_id)
        if kinds["touch"]:
            assert kinds["reassigned"] == 0, f"lead {lead_id} was touched and still reassigned for no activity"
            assert lead.owner_id == owners[lead_id]
        else:
            assert kinds["reassigned"] == 1 and lead.owner_id != owners[lead_id]
        with read_session(bot.engine) as session:
            pending = Counter(t.kind for t in timer_store.pending_for_lead(session, lead_id))
        # Touched: the worked lead's one idle escalation. Reassigned: the new owner's first-touch pair and idle rungs.
        reassigned = {"first_touch_reminder": 1, "first_touch_due": 1, "escalate": 1, "reassign": 1}
        expected = {"escalate": 1} if kinds["touch"] else reassigned
        assert pending == expected, "one idle period's clocks, not two"
