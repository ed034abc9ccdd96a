"""What happens in HubSpot comes back: its webhooks (v3-signed) for calls logged there and owners changed there.

The HubSpot stand-in delivers the app's subscriptions to Leadbot as HubSpot does, for a person's clicks in
its screens and for Leadbot's own API writes alike, so echoes are real here.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.devtools.standin.requests import post
from store import leads as lead_store
from store.db import read_session
from store.models import Activity, OutboxMessage
from tests.conftest import HUBSPOT_SECRET, RunningBot, eventually, hubspot_headers, make_config, start_bot, stop_bot
from tests.crm_support import answers, lead_row, new_lead, settled
from tests.test_concurrent_clicks import _button, _press, at_once
from tests.test_crm_hubspot import TOKEN, crm_config, owner_id

MINUTE = timedelta(minutes=1)


@pytest.fixture
def crm_bot(database_url, fake_slack, clock, hubspot):
    leadbot, server = start_bot(
        database_url, fake_slack, clock, crm_config(), hubspot_access_token=TOKEN, hubspot_api_url=hubspot.url
    )
    hubspot.send_webhooks_to(f"{server.url}/crm/hubspot/events", HUBSPOT_SECRET, now=clock.now)
    running = RunningBot(leadbot, server.url, fake_slack, clock)
    running.hubspot, running.crm = hubspot, "hubspot"
    yield running
    stop_bot(leadbot, server)


def answered(bot) -> list[dict]:
    return answers(bot.hubspot)


def activities(bot, lead_id: int, kind: str) -> list[Activity]:
    with read_session(bot.engine) as session:
        return [a for a in lead_store.activities(session, lead_id) if a.kind == kind]


def post_events(bot, events: list, secret: str = HUBSPOT_SECRET, timestamp_ms: int | None = None):
    url, body = f"{bot.url}/crm/hubspot/events", json.dumps(events)
    stamp = int(bot.clock.now().timestamp() * 1000) if timestamp_ms is None else timestamp_ms
    status, raw, _ = post(url, body, hubspot_headers(url, body, stamp, secret))
    return status, json.loads(raw)


def owner_event(contact_id: str, owner: str, occurred_ms: int, event_id: int = 9001) -> dict:
    return {"eventId": event_id, "subscriptionId": 2025001, "portalId": 4410000, "appId": 3010001,
            "occurredAt": occurred_ms, "subscriptionType": "object.propertyChange", "attemptNumber": 0,
            "objectId": int(contact_id), "objectTypeId": "0-1", "propertyName": "hubspot_owner_id",
            "propertyValue": owner, "changeSource": "CRM_UI", "sourceId": "userId:7700001"}  # fmt: skip


# -- touches made in HubSpot ---------------------------------------------------------------------------
def test_a_call_the_owner_logs_in_hubspot_stops_the_first_touch_clock_and_shows_in_the_dm(crm_bot):
    lead_id, contact_id = new_lead(crm_bot)
    crm_bot.clock.advance(4 * MINUTE)

    call = crm_bot.hubspot.log_activity_as_user("calls", contact_id, owner_id(crm_bot.hubspot, "U0SDR1"), title="Intro")

    assert answered(crm_bot)[-1]["touches"] == 1
    lead = lead_row(crm_bot, lead_id)
    assert (lead.first_touch_by, lead.first_touch_via, lead.first_touch_source) == ("U0SDR1", "call", "hubspot")
    assert lead.first_touch_at == crm_bot.clock.now() and lead.stage == "attempting_contact"
    [touch] = activities(crm_bot, lead_id, "touch")
    assert touch.data["logged_in"] == "hubspot" and touch.data["first"] and touch.data["note"] == "Intro"
    crm_bot.leadbot.relay.kick()
    alert = crm_bot.alert_for(lead_id)
    crm_bot.slack.wait_for(lambda: "logged in HubSpot" in json.dumps(alert["blocks"]))
    assert "4m after assignment" in json.dumps(alert["blocks"])
    assert crm_bot.sweep(30 * MINUTE).fired == 0  # no first-touch reminder or breach
    settled(crm_bot)
    # Not written back: the call is HubSpot's own; only the status moved.
    assert [c["id"] for c in crm_bot.hubspot.records("calls")] == [call]
    assert crm_bot.hubspot.records("contacts")[0]["properties"]["hs_lead_status"] == "ATTEMPTED_TO_CONTACT"


def test_a_touch_clicked_in_slack_comes_back_from_hubspot_and_is_not_counted_twice(crm_bot):
    lead_id, _ = new_lead(crm_bot)
    assert crm_bot.click_contacted(lead_id, "U0SDR1", via="call") == 200
    eventually(lambda: lead_row(crm_bot, lead_id).touch_count == 1)
    settled(crm_bot)

    [call] = crm_bot.hubspot.records("calls")  # Leadbot's write-back; HubSpot told Leadbot it was created
    answers = answered(crm_bot)
    assert any("Leadbot's own activity" in a["events"] for a in answers)
    assert lead_row(crm_bot, lead_id).touch_count == 1 and len(activities(crm_bot, lead_id, "touch")) == 1
    assert "(logged by Leadbot)" in call["properties"]["hs_call_body"]


def test_a_colleagues_call_in_hubspot_is_activity_and_a_replayed_webhook_counts_once(crm_bot):
    lead_id, contact_id = new_lead(crm_bot)
    crm_bot.hubspot.log_activity_as_user("emails", contact_id, owner_id(crm_bot.hubspot, "U0SDR2"))
    [first] = answered(crm_bot)

    again = crm_bot.hubspot.resend(crm_bot.hubspot.deliveries[-1])  # HubSpot delivers it a second time
    crm_bot.hubspot.wait_for_deliveries()

    assert first["events"] == [f"touch on lead #{lead_id}: activity"]
    assert json.loads(again.answer)["events"] == [f"touch on lead #{lead_id}: replay"]
    lead = lead_row(crm_bot, lead_id)
    assert lead.first_touch_at is None and lead.touch_count == 0 and lead.stage == "new"
    [touch] = activities(crm_bot, lead_id, "touch")
    assert (touch.actor, touch.data["by_owner"], touch.data["via"]) == ("U0SDR2", False, "email")


def test_a_call_on_a_contact_leadbot_does_not_know_is_ignored(crm_bot):
    stranger = crm_bot.hubspot.add_object("contacts", {"email": "someone@else.io"})
    crm_bot.hubspot.log_activity_as_user("calls", stranger, owner_id(crm_bot.hubspot, "U0SDR1"))
    assert answered(crm_bot)[-1] == {"touches": 0, "owner_changes": 0, "ignored": 1,
                                     "events": ["no lead for this record"]}  # fmt: skip


# -- owner changes in HubSpot --------------------------------------------------------------------------
def test_an_owner_changed_in_hubspot_wins_moves_the_clocks_tells_both_and_is_not_written_back(crm_bot):
    lead_id, contact_id = new_lead(crm_bot)
    crm_bot.alert_for(lead_id)
    crm_bot.clock.advance(10 * MINUTE)
    writes_before = len(_crm_rows(crm_bot))

    crm_bot.hubspot.set_owner_as_user(contact_id, owner_id(crm_bot.hubspot, "U0SDR2"))

    assert answered(crm_bot)[-1]["owner_changes"] == 1
    lead = lead_row(crm_bot, lead_id)
    assert (lead.owner_id, lead.reassign_count, lead.assigned_at) == ("U0SDR2", 1, crm_bot.clock.now())
    assert lead.routing_reason == "Changed in the CRM (owner changed in HubSpot)"
    assert lead.first_touch_due_at > crm_bot.clock.now()  # the new owner's clock, from now
    [moved] = activities(crm_bot, lead_id, "reassigned")
    assert moved.data == {"from": "U0SDR1", "to": "U0SDR2", "why": "owner changed in HubSpot"}
    crm_bot.leadbot.relay.kick()
    [told_old] = crm_bot.thread_replies(lead_id, 1)
    assert "reassigned from you to <@U0SDR2>" in told_old["text"]
    crm_bot.slack.wait_for(lambda: any(m["channel"] == crm_bot.slack.dm_channel("U0SDR2")
                                       for m in crm_bot.slack.messages.values()))  # fmt: skip
    settled(crm_bot)
    assert [r.method for r in _crm_rows(crm_bot)[writes_before:]] == []  # nothing written back
    assert crm_bot.hubspot.records("contacts")[0]["properties"]["hubspot_owner_id"] == owner_id(
        crm_bot.hubspot, "U0SDR2"
    )


def test_leadbots_own_owner_write_echoing_back_changes_nothing(crm_bot):
    lead_id, contact_id = new_lead(crm_bot)
    hubspot = crm_bot.hubspot
    hubspot.set_owner_as_user(contact_id, owner_id(hubspot, "U0SDR2"))  # a person moves it: Leadbot follows
    answered(crm_bot)
    # A stale echo: the SDR1 write Leadbot sent at intake, reported late, must not move the lead back.
    with read_session(crm_bot.engine) as session:
        first_write = session.exec(select(OutboxMessage).where(OutboxMessage.target == "hubspot")).first()
    late = int(first_write.sent_at.timestamp() * 1000)
    status, answer = post_events(crm_bot, [owner_event(contact_id, owner_id(hubspot, "U0SDR1"), late)])

    assert (status, answer["events"]) == (200, [f"lead #{lead_id}: Leadbot's own earlier write"])
    # And a change older than Leadbot's latest assignment is superseded, not applied.
    old = int((lead_row(crm_bot, lead_id).assigned_at - MINUTE).timestamp() * 1000)
    status, answer = post_events(crm_bot, [owner_event(contact_id, owner_id(hubspot, "U0MGR1"), old, 9002)])
    assert answer["events"] == [f"lead #{lead_id}: older than Leadbot's own latest assignment"]
    # The same owner again (HubSpot's echo of a write, or a replay): nothing to do.
    now = int(crm_bot.clock.now().timestamp() * 1000)
    status, answer = post_events(crm_bot, [owner_event(contact_id, owner_id(hubspot, "U0SDR2"), now, 9003)])
    assert answer["events"] == [f"lead #{lead_id}: the owner Leadbot has"]
    lead = lead_row(crm_bot, lead_id)
    assert (lead.owner_id, lead.reassign_count) == ("U0SDR2", 1)


def test_a_reassignment_in_slack_is_written_and_its_echo_is_ignored(crm_bot, clock):
    lead_id, contact_id = new_lead(crm_bot)
    from bot.lifecycle.escalations import act_on_escalation

    lead = lead_row(crm_bot, lead_id)
    act_on_escalation(crm_bot.engine, crm_bot.leadbot.config, clock, lead_id=lead_id, period=lead.idle_period,
                      actor_id="U0MGR1", take=False)  # fmt: skip
    settled(crm_bot)

    answers = answered(crm_bot)
    assert answers[-1]["events"] == [f"lead #{lead_id}: the owner Leadbot has"]
    lead = lead_row(crm_bot, lead_id)
    assert (lead.owner_id, lead.reassign_count) == ("U0SDR2", 1)
    assert crm_bot.hubspot.records("contacts")[0]["properties"]["hubspot_owner_id"] == owner_id(
        crm_bot.hubspot, "U0SDR2"
    )


def test_an_owner_outside_the_team_stops_leadbots_clocks_and_says_so(crm_bot):
    lead_id, contact_id = new_lead(crm_bot)
    outsider = crm_bot.hubspot.add_owner("partner@reseller.io")
    crm_bot.hubspot.set_owner_as_user(contact_id, outsider)

    assert answered(crm_bot)[-1]["events"] == [f"owner changed on lead #{lead_id} to someone outside the team"]
    assert crm_bot.sweep(3 * 60 * MINUTE).fired == 0  # no reminder, breach or escalation for a lead not ours
    crm_bot.leadbot.relay.kick()
    notes = crm_bot.channel_messages("C0ESCALATE", 1)
    assert "not on Leadbot's team" in notes[-1]["text"]


# -- bad input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("secret", "age_ms", "status"),
    [("wrong-secret", 0, 401), (HUBSPOT_SECRET, 6 * 60 * 1000, 401)],
    ids=["bad-signature", "stale"],
)
def test_unsigned_or_stale_webhooks_are_refused_and_change_nothing(crm_bot, secret, age_ms, status):
    lead_id, contact_id = new_lead(crm_bot)
    stamp = int(crm_bot.clock.now().timestamp() * 1000) - age_ms
    event = owner_event(contact_id, owner_id(crm_bot.hubspot, "U0SDR2"), stamp)
    got, answer = post_events(crm_bot, [event], secret=secret, timestamp_ms=stamp)
    assert (got, answer["error"]) == (status, "unauthorized")
    assert lead_row(crm_bot, lead_id).owner_id == "U0SDR1"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [("{not json", 400, "malformed_json"), ('[{"eventId": 1}]', 422, "invalid_event"),
     ('[{"eventId": 1, "subscriptionType": "x", "objectId": 1, "occurredAt": -5}]', 422, "invalid_event")],
    ids=["not-json", "missing-fields", "negative-time"],
)  # fmt: skip
def test_malformed_webhooks_get_a_clear_answer(crm_bot, body, status, error):
    url = f"{crm_bot.url}/crm/hubspot/events"
    got, raw, _ = post(url, body, hubspot_headers(url, body, int(crm_bot.clock.now().timestamp() * 1000)))
    assert (got, json.loads(raw)["error"]) == (status, error)


def test_hubspot_events_without_a_hubspot_crm_configured_are_refused(database_url, fake_slack, clock):
    leadbot, server = start_bot(database_url, fake_slack, clock, make_config())
    try:
        bot = RunningBot(leadbot, server.url, fake_slack, clock)
        status, answer = post_events(bot, [owner_event("1", "2", 0)])
        assert (status, answer["error"]) == (409, "crm_not_configured")
    finally:
        stop_bot(leadbot, server)


def _crm_rows(bot) -> list[OutboxMessage]:
    with read_session(bot.engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.target == "hubspot")).all())


# -- a person in HubSpot and a manager in Slack move the same lead at once (PostgreSQL) --------------------
@pytest.fixture
def quiet_crm_bot(database_url, fake_slack, clock, hubspot):
    """A bot writing to HubSpot whose webhooks the test delivers itself (to race them against a click)."""
    leadbot, server = start_bot(
        database_url, fake_slack, clock, crm_config(), hubspot_access_token=TOKEN, hubspot_api_url=hubspot.url
    )
    running = RunningBot(leadbot, server.url, fake_slack, clock)
    running.hubspot, running.crm = hubspot, "hubspot"
    yield running
    stop_bot(leadbot, server)


def test_an_owner_change_in_hubspot_and_a_reassign_click_at_once_agree_on_one_owner(quiet_crm_bot, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's single writer serialises these by itself; the race exists on PostgreSQL")
    bot, hubspot = quiet_crm_bot, quiet_crm_bot.hubspot
    ids = [bot.post_lead({"email": f"buyer{i}@company{i}.io", "company": f"Company {i}"})[1]["id"] for i in range(12)]
    settled(bot)
    bot.sweep(2 * 60 * MINUTE + MINUTE)
    escalations = {json.loads(_button(m, "escalation.reassign_now")["value"])["lead_id"]: m
                   for m in bot.channel_messages("C0ESCALATE", len(ids))}  # fmt: skip
    manager = owner_id(hubspot, "U0MGR1")
    races = []
    for lead_id in ids:
        contact_id = lead_row(bot, lead_id).crm_record_id
        hubspot.set_owner_as_user(contact_id, manager)  # a person gives it to Morgan in HubSpot, at t
        event = owner_event(contact_id, manager, int(bot.clock.now().timestamp() * 1000), event_id=lead_id)
        races.append((_press(bot, "U0MGR1", escalations[lead_id], "escalation.reassign_now"), event))
    bot.clock.advance(timedelta(seconds=1))  # the click is decided at t + 1 s, its webhook may arrive either side

    for click, event in races:
        click_status, (event_status, _) = at_once([click, lambda event=event: post_events(bot, [event])])
        assert (click_status, event_status) == (200, 200)

    eventually(lambda: len(bot.ephemeral_for("U0MGR1")) + _clicks_that_won(bot, ids) >= len(ids), timeout=20)
    settled(bot, timeout=20)
    crm_won = 0
    for lead_id in ids:
        lead = lead_row(bot, lead_id)
        contact = next(c for c in hubspot.records("contacts") if c["id"] == lead.crm_record_id)
        # One owner, the same in Leadbot and in HubSpot: the most recent decision.
        assert contact["properties"]["hubspot_owner_id"] == owner_id(hubspot, lead.owner_id), lead_id
        last = activities(bot, lead_id, "reassigned")[-1]
        if lead.owner_id == "U0MGR1":
            crm_won += 1
            assert last.data["why"] == "owner changed in HubSpot"
        else:  # the click (1 s later) is the more recent change, and wins in both
            assert last.data["why"].startswith("reassigned from an escalation")
    told = [r["text"] for r in bot.ephemeral_for("U0MGR1")]
    assert len([t for t in told if "Already handled" in t]) == crm_won  # told so exactly when HubSpot was first
    assert not [t for t in told if "hit an error" in t]


def _clicks_that_won(bot, ids: list[int]) -> int:
    return sum(1 for i in ids for a in activities(bot, i, "reassigned") if a.data["why"].startswith("reassigned from"))


# -- a week replayed: leads arrive during working hours, most are worked in a cadence (calls and emails logged
# in HubSpot, clicks in Slack), some are left alone. With the per-stage idle limits, escalations land on the
# leads nobody works and on none of the worked ones.
STEP = timedelta(minutes=30)
DAYS = 7


def test_a_week_of_slack_and_crm_touches_escalates_only_the_leads_nobody_works(crm_bot):
    bot, rng = crm_bot, random.Random(14)
    plans: dict[int, dict] = {}  # lead id → its cadence: when each touch is due, and where it is logged
    start = bot.clock.now()  # Monday 09:00 in New York
    for step in range(int(DAYS * timedelta(days=1) / STEP)):
        now = bot.clock.now()
        local = now - timedelta(hours=5)
        if local.weekday() < 5 and 9 <= local.hour < 16 and step % 2 == 0 and len(plans) < 24:
            plans[_new_lead(bot, len(plans))] = _plan(rng, now, worked=len(plans) % 4 != 3)
        for lead_id, plan in plans.items():
            while plan["due"] and plan["due"][0][0] <= now:
                _, where = plan["due"].pop(0)
                _touch(bot, lead_id, where)
        bot.sweep(STEP)
    assert bot.clock.now() - start >= timedelta(days=DAYS)

    escalated = Counter({lead_id: len(activities(bot, lead_id, "escalated")) for lead_id in plans})
    worked = [i for i, p in plans.items() if p["worked"]]
    ignored = [i for i, p in plans.items() if not p["worked"]]
    assert len(worked) == 18 and len(ignored) == 6
    assert all(escalated[i] == 0 for i in worked), {i: escalated[i] for i in worked if escalated[i]}
    assert all(escalated[i] >= 1 for i in ignored)  # the policy is not simply off
    touched_in_crm = sum(1 for i in worked for a in activities(bot, i, "touch") if a.data.get("logged_in") == "hubspot")
    touched_in_slack = sum(
        1 for i in worked for a in activities(bot, i, "touch") if a.data.get("logged_in") != "hubspot"
    )
    assert touched_in_crm > 30 and touched_in_slack > 10  # both kinds of touch kept the clocks quiet
    assert all(lead_row(bot, i).reassign_count == 0 for i in worked)


def _new_lead(bot, n: int) -> int:
    status, body = bot.post_lead({"email": f"buyer{n}@company{n}.io", "company": f"Company {n}"})
    assert status == 201
    settled(bot)
    return body["id"]


def _plan(rng: random.Random, arrived, worked: bool) -> dict:
    """The first touch within ten minutes, then one a working day (a cadence's steps), logged here or there."""
    if not worked:
        return {"worked": False, "due": []}
    due, at = [], arrived + timedelta(minutes=rng.randint(3, 10))
    for _ in range(6):
        due.append((at, rng.choice(("slack", "hubspot-call", "hubspot-email"))))
        at += timedelta(days=1 if (at - timedelta(hours=5)).weekday() < 4 else 3)  # Friday's next step: Monday
    return {"worked": True, "due": due}


def _touch(bot, lead_id: int, where: str) -> None:
    lead = lead_row(bot, lead_id)
    if where == "slack":
        assert bot.click_contacted(lead_id, lead.owner_id, via="email") == 200
        eventually(lambda: lead_row(bot, lead_id).touch_count > lead.touch_count)  # before the clock moves on
        return
    kind = "calls" if where == "hubspot-call" else "emails"
    bot.hubspot.log_activity_as_user(kind, lead.crm_record_id, owner_id(bot.hubspot, lead.owner_id))
    bot.hubspot.wait_for_deliveries()
