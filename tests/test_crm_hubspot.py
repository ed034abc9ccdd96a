"""Write-back to HubSpot: real hubspot-api-client calls against the HubSpot stand-in on 127.0.0.1."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from urllib.parse import unquote

import pytest
import yaml
from sqlmodel import select

from bot.core.settings import Settings
from bot.devtools.standin.hubspot_api import FakeHubSpot
from bot.devtools.standin.requests import post
from bot.runtime.app import build_leadbot
from bot.runtime.cli import main
from bot.runtime.leadbot import WORKERS_FIRST
from store import outbox as outbox_store
from store.db import read_session, write_session
from store.models import Lead, Opportunity, OutboxMessage
from tests.conftest import (
    CRM_PEOPLE,
    HUBSPOT_TOKEN,
    MINIMAL_CONFIG,
    RunningBot,
    eventually,
    hubspot_headers,
    parse_config,
    start_bot,
    stop_bot,
)
from tests.crm_support import crm_rows, drained, http_get, lead_row, settled, unsent
from tests.test_handoff import LEAD, QUALIFIED, _modal, _press, _qualified, _submit

TOKEN, PEOPLE = HUBSPOT_TOKEN, CRM_PEOPLE


def crm_config(**crm):
    data = yaml.safe_load(MINIMAL_CONFIG)
    for member in data["team"]:
        member["email"] = PEOPLE[member["slack_id"]]
    data["crm"] = {
        "system": "hubspot",
        "hubspot": {"portal_id": "4410000"},
        "stamp_fields": {"lead_id": "leadbot_lead_id", "routing_reason": "leadbot_routing_reason"},
        **crm,
    }
    return parse_config(data, "test config")


@pytest.fixture
def crm_bot_config():
    return crm_config()


@pytest.fixture
def crm_bot(database_url, fake_slack, clock, hubspot, crm_bot_config):
    leadbot, server = start_bot(
        database_url, fake_slack, clock, crm_bot_config, hubspot_access_token=TOKEN, hubspot_api_url=hubspot.url
    )
    running = RunningBot(leadbot, server.url, fake_slack, clock)
    running.hubspot, running.crm = hubspot, "hubspot"
    yield running
    stop_bot(leadbot, server)


def owner_id(hubspot: FakeHubSpot, slack_id: str) -> str:
    return next(o["id"] for o in hubspot.owners if o["email"] == PEOPLE[slack_id])


def contact(hubspot: FakeHubSpot, email: str = LEAD["email"]) -> dict:
    return hubspot.wait_for(
        lambda: next((c for c in hubspot.records("contacts") if c["properties"]["email"] == email), None)
    )


# -- intake and assignment ------------------------------------------------------------------------------
def test_a_form_lead_becomes_a_contact_owned_by_its_sdr_with_status_stamps_and_a_link(crm_bot):
    status, body = crm_bot.post_lead(LEAD)
    assert status == 201
    settled(crm_bot)

    [record] = crm_bot.hubspot.records("contacts")
    properties = record["properties"]
    assert properties["hubspot_owner_id"] == owner_id(crm_bot.hubspot, "U0SDR1")
    assert (properties["hs_lead_status"], properties["lifecyclestage"]) == ("NEW", "lead")
    assert (properties["firstname"], properties["company"], properties["jobtitle"]) == (
        "Jordan",
        "Northwind",
        "VP Engineering",
    )
    assert properties["leadbot_lead_id"] == str(body["id"]) and "round" in properties["leadbot_routing_reason"].lower()
    lead = lead_row(crm_bot, body["id"])
    url = f"https://app.hubspot.com/contacts/4410000/record/0-1/{record['id']}"
    assert (lead.crm_record_id, lead.crm_record_type, lead.crm_record_url) == (record["id"], "contact", url)
    # The DM shows the link once the record exists (posted with it, or redrawn when the record came later).
    alert = crm_bot.alert_for(body["id"])
    # Posted with the link, or redrawn with it a little later (new DMs of a burst go first).
    crm_bot.clock.advance(timedelta(seconds=21))
    crm_bot.leadbot.relay.kick()
    crm_bot.slack.wait_for(lambda: url in json.dumps(alert["blocks"]))
    assert "Open in HubSpot" in json.dumps(alert["blocks"])


def test_a_contact_that_exists_is_found_by_email_and_keeps_its_later_lifecycle_stage(crm_bot):
    existing = crm_bot.hubspot.add_object(
        "contacts", {"email": "Jordan@Northwind.io", "lifecyclestage": "customer", "firstname": "Jordan"}
    )
    _, body = crm_bot.post_lead(LEAD)
    settled(crm_bot)

    [record] = crm_bot.hubspot.records("contacts")
    assert record["id"] == existing and lead_row(crm_bot, body["id"]).crm_record_id == existing
    assert record["properties"]["hubspot_owner_id"] == owner_id(crm_bot.hubspot, "U0SDR1")
    assert record["properties"]["lifecyclestage"] == "customer"


def test_a_lead_from_a_hubspot_workflow_is_written_to_its_own_record_without_a_search(crm_bot):
    record_id = crm_bot.hubspot.add_object("contacts", {"email": "pat@contoso.com"})
    url = f"{crm_bot.url}/leads/hubspot"
    payload = json.dumps({"objectId": int(record_id), "properties": {"email": {"value": "pat@contoso.com"}}})
    now_ms = int(crm_bot.clock.now().timestamp() * 1000)
    status, _, _ = post(url, payload, hubspot_headers(url, payload, now_ms))
    assert status == 201
    settled(crm_bot)

    assert len(crm_bot.hubspot.records("contacts")) == 1
    # No look-up by email (GET /contacts/<email>?idProperty=email) and no search: the record id came with the lead.
    lookups = [r for r in crm_bot.hubspot.requests if "@" in unquote(r.path) or r.path.endswith("/search")]
    assert lookups == []
    assert crm_bot.hubspot.records("contacts")[0]["properties"]["hubspot_owner_id"] == owner_id(
        crm_bot.hubspot, "U0SDR1"
    )


def test_a_reassignment_moves_the_owner_in_hubspot_too(crm_bot):
    _, body = crm_bot.post_lead(LEAD)
    settled(crm_bot)
    crm_bot.sweep(timedelta(hours=24, minutes=1))
    eventually(lambda: lead_row(crm_bot, body["id"]).owner_id == "U0SDR2")
    settled(crm_bot)

    assert contact(crm_bot.hubspot)["properties"]["hubspot_owner_id"] == owner_id(crm_bot.hubspot, "U0SDR2")


# -- touches, stages, the deal ---------------------------------------------------------------------------
def test_touches_are_calls_and_emails_on_the_contact_and_the_first_sets_attempted_to_contact(crm_bot):
    _, body = crm_bot.post_lead(LEAD)
    alert = crm_bot.alert_for(body["id"])
    crm_bot.click_contacted(body["id"], "U0SDR1", via="call")
    crm_bot.slack.wait_for(lambda: "Log another touch" in json.dumps(alert["blocks"]))  # the touch is shown
    crm_bot.clock.advance(timedelta(hours=1))
    crm_bot.click_contacted(body["id"], "U0SDR1", via="email")
    # The click is acked before its work commits: wait for the write itself, then for the queue to be done.
    crm_bot.hubspot.wait_for(lambda: crm_bot.hubspot.records("emails"))
    settled(crm_bot)

    record = contact(crm_bot.hubspot)
    [call] = crm_bot.hubspot.records("calls")
    [email] = crm_bot.hubspot.records("emails")
    assert call["properties"]["hs_call_status"] == "COMPLETED"
    assert call["properties"]["hubspot_owner_id"] == owner_id(crm_bot.hubspot, "U0SDR1")
    assert "Sam Rivera" in call["properties"]["hs_call_body"]
    assert int(email["properties"]["hs_timestamp"]) - int(call["properties"]["hs_timestamp"]) == 3_600_000
    assert crm_bot.hubspot.associated("calls", call["id"], "contacts") == [record["id"]]
    assert crm_bot.hubspot.associated("emails", email["id"], "contacts") == [record["id"]]
    assert record["properties"]["hs_lead_status"] == "ATTEMPTED_TO_CONTACT"


def test_qualify_and_accept_write_status_notes_and_a_deal_owned_by_the_ae(crm_bot):
    _, body = crm_bot.post_lead(LEAD)
    alert = crm_bot.alert_for(body["id"])
    crm_bot.click_contacted(body["id"], "U0SDR1", via="call")
    crm_bot.slack.wait_for(lambda: "Log another touch" in json.dumps(alert["blocks"]))  # the touch is shown
    _press(crm_bot, "U0SDR1", crm_bot.alert_for(body["id"]), "lead.qualify")
    assert _submit(crm_bot, "U0SDR1", _modal(crm_bot), QUALIFIED)[0] == 200
    handoff = crm_bot.slack.wait_for(
        lambda: next((m for m in crm_bot.slack.messages_in("C0HANDOFF") if not m["thread_ts"]), None)
    )
    settled(crm_bot)
    record = contact(crm_bot.hubspot)
    assert (record["properties"]["hs_lead_status"], record["properties"]["lifecyclestage"]) == (
        "IN_PROGRESS",
        "salesqualifiedlead",
    )
    [note] = crm_bot.hubspot.records("notes")
    assert "SQL: set by Sam Rivera" in note["properties"]["hs_note_body"]
    assert (
        "Alex Kim (AE)" in note["properties"]["hs_note_body"] and "Wants routing" in note["properties"]["hs_note_body"]
    )

    assert _press(crm_bot, "U0AE1", handoff, "handoff.accept") == 200
    crm_bot.hubspot.wait_for(lambda: crm_bot.hubspot.records("deals"))
    settled(crm_bot)

    [deal] = crm_bot.hubspot.records("deals")
    assert deal["properties"]["hubspot_owner_id"] == owner_id(crm_bot.hubspot, "U0AE1")
    assert (deal["properties"]["pipeline"], deal["properties"]["dealstage"]) == ("default", "appointmentscheduled")
    assert "budget: 20-40k" in deal["properties"]["description"]
    [company] = crm_bot.hubspot.records("companies")
    assert company["properties"]["domain"] == "northwind.io"
    assert crm_bot.hubspot.associated("deals", deal["id"], "contacts") == [record["id"]]
    assert crm_bot.hubspot.associated("deals", deal["id"], "companies") == [company["id"]]
    assert contact(crm_bot.hubspot)["properties"]["lifecyclestage"] == "opportunity"
    with read_session(crm_bot.engine) as session:
        [opportunity] = session.exec(select(Opportunity)).all()
    assert opportunity.crm_id == deal["id"]
    assert opportunity.crm_url == f"https://app.hubspot.com/contacts/4410000/record/0-3/{deal['id']}"
    replies = crm_bot.slack.wait_for(
        lambda: [
            m for m in crm_bot.slack.messages_in("C0HANDOFF") if m["thread_ts"] and opportunity.crm_url in m["text"]
        ]
    )
    assert "deal in HubSpot" in replies[0]["text"]


def test_a_mass_reassignment_is_written_in_one_batch_update_not_a_call_per_lead(crm_bot):
    for n in range(30):
        crm_bot.post_lead({**LEAD, "email": f"person{n}@northwind.io"})
    settled(crm_bot, timeout=30)
    relay = crm_bot.leadbot.crm_relay
    relay.stop()  # the queue grows while nobody sends: a deep queue
    crm_bot.sweep(timedelta(hours=24, minutes=1))  # every lead idle for a day: all reassigned
    eventually(lambda: unsent(crm_bot) == 30)
    assert {r.method for r in crm_rows(crm_bot) if not r.sent_at} == {"owner"}
    before = len(crm_bot.hubspot.requests)

    while relay.deliver_due():
        pass

    # (Besides, at most a look-up of the new owner by email, the first time Leadbot needs them.)
    calls = [r for r in crm_bot.hubspot.requests[before:] if not r.path.startswith("/crm/v3/owners")]
    assert [(r.method, r.path) for r in calls] == [("POST", "/crm/v3/objects/contacts/batch/update")]
    assert len(calls[0].body["inputs"]) == 30
    for lead_id, contact_id in _records_by_lead(crm_bot).items():
        owner = lead_row(crm_bot, lead_id).owner_id
        stored = next(c for c in crm_bot.hubspot.records("contacts") if c["id"] == contact_id)
        assert stored["properties"]["hubspot_owner_id"] == owner_id(crm_bot.hubspot, owner)
    assert unsent(crm_bot) == 0


def _burst(bot, count: int) -> None:
    """`count` new leads queued while nobody sends to the CRM: a deep queue of new records."""
    bot.leadbot.crm_relay.stop()
    for n in range(count):
        bot.post_lead({**LEAD, "email": f"person{n}@northwind.io"})
    eventually(lambda: unsent(bot) == count)


def test_a_burst_of_new_leads_is_looked_up_and_created_in_two_batch_calls(crm_bot):
    existing = crm_bot.hubspot.add_object("contacts", {"email": "person3@northwind.io", "lifecyclestage": "customer"})
    _burst(crm_bot, 30)
    before = len(crm_bot.hubspot.requests)

    while crm_bot.leadbot.crm_relay.deliver_due():
        pass

    calls = [r for r in crm_bot.hubspot.requests[before:] if not r.path.startswith("/crm/v3/owners")]
    assert [r.path for r in calls] == [
        "/crm/v3/objects/contacts/batch/read",
        "/crm/v3/objects/contacts/batch/create",
        "/crm/v3/objects/contacts/batch/update",  # the one that existed gets its owner
    ]
    contacts = {c["properties"]["email"]: c for c in crm_bot.hubspot.records("contacts")}
    assert len(contacts) == 30 and contacts["person3@northwind.io"]["id"] == existing
    assert contacts["person3@northwind.io"]["properties"]["lifecyclestage"] == "customer"  # kept
    for lead_id, contact_id in _records_by_lead(crm_bot).items():
        stored = next(c for c in contacts.values() if c["id"] == contact_id)
        assert stored["properties"]["hubspot_owner_id"] == owner_id(
            crm_bot.hubspot, lead_row(crm_bot, lead_id).owner_id
        )
    assert unsent(crm_bot) == 0


def test_a_batch_create_whose_answer_is_lost_makes_no_second_contact(crm_bot):
    crm_bot.hubspot.lose_answer_next("/crm/v3/objects/contacts/batch/create")
    _burst(crm_bot, 12)
    relay = crm_bot.leadbot.crm_relay

    for _ in range(20):  # the retries come due as the clock moves; in doubt, each row looks before it creates
        while relay.deliver_due():
            pass
        crm_bot.clock.advance(timedelta(minutes=1))

    assert len(crm_bot.hubspot.records("contacts")) == 12 and unsent(crm_bot) == 0
    assert all(lead_row(crm_bot, lead_id).crm_record_id for lead_id in _records_by_lead(crm_bot))


def _records_by_lead(bot) -> dict[int, str]:
    with read_session(bot.engine) as session:
        return {lead.id: lead.crm_record_id for lead in session.exec(select(Lead)).all()}


def test_touches_from_the_touch_api_are_written_back_except_the_crms_own(crm_bot):
    """A call logged in HubSpot is already there (writing it back would log it twice); one from a dialer is not."""
    _, body = crm_bot.post_lead(LEAD)
    crm_bot.alert_for(body["id"])
    contact(crm_bot.hubspot)
    settled(crm_bot)

    from_hubspot = {"channel": "call", "by": "sam@acme.test", "source": "hubspot", "external_id": "9001"}
    from_dialer = {"channel": "call", "by": "sam@acme.test", "source": "Aircall", "external_id": "ac-1"}
    assert crm_bot.post_json(f"/leads/{body['id']}/touches", from_hubspot)[0] == 201
    assert crm_bot.post_json(f"/leads/{body['id']}/touches", from_dialer)[0] == 201
    crm_bot.hubspot.wait_for(lambda: crm_bot.hubspot.records("calls"))
    settled(crm_bot)

    [call] = crm_bot.hubspot.records("calls")
    assert call["properties"]["hs_call_title"] == "Touch 2 (call), logged in Aircall"
    assert call["properties"]["hubspot_owner_id"] == owner_id(crm_bot.hubspot, "U0SDR1")


def test_reject_and_disqualify_write_their_status_and_a_note_with_the_reason(crm_bot):
    _, _, handoff = _qualified(crm_bot)
    _press(crm_bot, "U0AE1", handoff, "handoff.reject")
    assert _submit(crm_bot, "U0AE1", _modal(crm_bot, 2), {"reason": "bad_timing", "notes": "Budget frozen"})[0] == 200
    _, body = crm_bot.post_lead({**LEAD, "email": "kim@contoso.com", "company": "Contoso"})
    alert = crm_bot.alert_for(body["id"])
    crm_bot.click_contacted(body["id"], lead_row(crm_bot, body["id"]).owner_id, via="email")
    crm_bot.slack.wait_for(lambda: "Log another touch" in json.dumps(alert["blocks"]))
    _press(crm_bot, lead_row(crm_bot, body["id"]).owner_id, alert, "lead.disqualify")
    assert (
        _submit(
            crm_bot,
            lead_row(crm_bot, body["id"]).owner_id,
            _modal(crm_bot, 3),
            {"reason": "student", "notes": "Thesis"},
        )[0]
        == 200
    )
    crm_bot.hubspot.wait_for(lambda: len(_notes(crm_bot.hubspot)) == 3)  # SQL, Engaged (sent back), Disqualified
    settled(crm_bot)

    rejected = contact(crm_bot.hubspot)
    assert rejected["properties"]["hs_lead_status"] == "CONNECTED"  # back to Engaged, with its SDR
    notes = _notes(crm_bot.hubspot)
    sent_back = next(n for n in notes if "Engaged: set by" in n)
    assert "set by Alex Kim" in sent_back and "Reason: Bad timing" in sent_back and "Budget frozen" in sent_back
    assert contact(crm_bot.hubspot, "kim@contoso.com")["properties"]["hs_lead_status"] == "UNQUALIFIED"
    closed = next(n for n in notes if "Disqualified: set by" in n)
    assert "Reason: Student" in closed and "Thesis" in closed


def _notes(hubspot: FakeHubSpot) -> list[str]:
    return [n["properties"]["hs_note_body"] for n in hubspot.records("notes")]


# -- faults ------------------------------------------------------------------------------------------------
def test_hubspot_down_keeps_intake_and_slack_going_and_the_writes_land_later_in_order(crm_bot):
    crm_bot.hubspot.fail_next("/crm/v3", status=503, times=1000, message="Service Unavailable")
    status, body = crm_bot.post_lead(LEAD)
    assert status == 201
    alert = crm_bot.alert_for(body["id"])  # Slack did not wait for HubSpot
    crm_bot.click_contacted(body["id"], "U0SDR1", via="call")
    crm_bot.slack.wait_for(lambda: "Log another touch" in json.dumps(alert["blocks"]))  # the touch is shown
    eventually(lambda: unsent(crm_bot) == 2)  # the record (with its owner), the touch
    # The relay has met the outage (and recorded it) before the test moves the clock on.
    assert "503" in eventually(lambda: crm_rows(crm_bot)[0].last_error)
    assert crm_bot.hubspot.records("contacts") == []

    crm_bot.hubspot.clear_failures()
    crm_bot.clock.advance(timedelta(minutes=5))
    crm_bot.leadbot.crm_relay.kick()
    settled(crm_bot)

    record = contact(crm_bot.hubspot)
    assert record["properties"]["hs_lead_status"] == "ATTEMPTED_TO_CONTACT"  # the touch's status landed last
    assert len(crm_bot.hubspot.records("calls")) == 1


def test_a_429_waits_hubspots_window_without_holding_up_slack(crm_bot):
    crm_bot.hubspot.fail_next(
        "/crm/v3", status=429, category="", errorType="RATE_LIMIT", policyName="TEN_SECONDLY_ROLLING"
    )
    _, body = crm_bot.post_lead(LEAD)
    crm_bot.alert_for(body["id"])

    def first_row():
        return crm_rows(crm_bot)[0]

    eventually(lambda: first_row().last_error)  # the relay has recorded the 429
    row = first_row()
    assert "rate limit" in row.last_error.lower()
    assert row.next_attempt_at - crm_bot.clock.now() >= timedelta(seconds=10)  # the ten-second window, not 5 s
    assert crm_bot.hubspot.records("contacts") == []
    calls_before = len(crm_bot.hubspot.requests)

    crm_bot.clock.advance(timedelta(seconds=11))
    crm_bot.leadbot.crm_relay.kick()
    settled(crm_bot)
    assert contact(crm_bot.hubspot)["properties"]["hubspot_owner_id"]
    assert len(crm_bot.hubspot.requests) > calls_before


def test_a_lost_answer_never_makes_a_second_contact_or_a_second_call(crm_bot):
    crm_bot.hubspot.lose_answer_next("/crm/v3/objects/contacts")  # the look-up by email: carried out, not heard
    crm_bot.hubspot.lose_answer_next("/crm/v3/objects/calls")
    _, body = crm_bot.post_lead(LEAD)
    alert = crm_bot.alert_for(body["id"])
    crm_bot.click_contacted(body["id"], "U0SDR1", via="call")
    crm_bot.slack.wait_for(lambda: "Log another touch" in json.dumps(alert["blocks"]))  # the touch is shown
    drained(crm_bot)

    assert len(crm_bot.hubspot.records("contacts")) == 1
    assert len(crm_bot.hubspot.records("calls")) == 1


def test_a_contact_created_just_before_a_crash_is_not_created_again(crm_bot, hubspot):
    """Killed after HubSpot created the contact and before the row was marked done: the next attempt finds it."""
    crm_bot.leadbot.crm_relay.stop()
    _, body = crm_bot.post_lead(LEAD)
    relay = crm_bot.leadbot.crm_relay
    with write_session(crm_bot.engine) as session:
        [claimed, *_] = outbox_store.claim_due(session, crm_bot.clock.now(), timedelta(minutes=3), 1, ["hubspot"])
    relay.targets["hubspot"].deliver(claimed.row, in_doubt=False)  # HubSpot did it; nobody recorded it
    assert len(hubspot.records("contacts")) == 1

    crm_bot.clock.advance(timedelta(minutes=4))  # the dead sender's lease runs out
    while relay.deliver_due():
        pass

    assert len(hubspot.records("contacts")) == 1
    assert hubspot.records("contacts")[0]["properties"]["hubspot_owner_id"] == owner_id(hubspot, "U0SDR1")
    assert lead_row(crm_bot, body["id"]).crm_record_id == hubspot.records("contacts")[0]["id"]


@pytest.mark.parametrize(
    "crm_bot_config", [crm_config(hubspot={"portal_id": "4410000", "lead_status": {"new": "FRESH"}})]
)
def test_a_refused_write_is_told_to_the_managers_once_with_hubspots_words_and_can_be_sent_again(
    crm_bot, database_url, monkeypatch, capsys
):
    crm_bot.post_lead(LEAD)
    crm_bot.post_lead({**LEAD, "email": "kim@contoso.com"})
    settled(crm_bot)

    notices = crm_bot.slack.wait_for(
        lambda: [m for m in crm_bot.slack.messages_in("C0ESCALATE") if "HubSpot refused" in m["text"]]
    )
    assert len(notices) == 1
    assert "FRESH was not one of the allowed options" in notices[0]["text"] and "VALIDATION_ERROR" in notices[0]["text"]
    with read_session(crm_bot.engine) as session:
        causes = outbox_store.failures_by_cause(session, "hubspot")
    # Each lead's record write (the owner in it): two rows, one cause, one notice.
    assert sum(causes.values()) == 2 and all("FRESH" in cause for cause in causes)
    status, raw, _ = http_get(f"{crm_bot.url}/healthz")
    assert json.loads(raw)["crm"]["failed"] == 2
    status, raw, _ = http_get(f"{crm_bot.url}/metrics")
    assert 'leadbot_crm_failed{cause="VALIDATION_ERROR"} 2.0' in raw.decode()

    # The admin adds the option in HubSpot; `leadbot outbox retry` sends them again.
    from bot.devtools.standin import hubspot_api

    hubspot_api.PROPERTIES["contacts"]["hs_lead_status"] += ("FRESH",)
    try:
        monkeypatch.setenv("DATABASE_URL", database_url)
        assert main(["outbox", "retry", "--target", "hubspot"]) == 0
        assert "2 failed deliveries queued again" in capsys.readouterr().out
        crm_bot.leadbot.crm_relay.kick()
        settled(crm_bot)
        contacts = crm_bot.hubspot.records("contacts")
        assert [c["properties"].get("hs_lead_status") for c in contacts] == ["FRESH", "FRESH"]
        assert all(c["properties"].get("hubspot_owner_id") for c in contacts)
    finally:
        hubspot_api.PROPERTIES["contacts"]["hs_lead_status"] = hubspot_api.PROPERTIES["contacts"]["hs_lead_status"][:-1]


def _unmapped_sdr_config():
    people = {**PEOPLE, "U0SDR1": "sam.personal@example.org"}  # not a HubSpot user's address
    data = yaml.safe_load(MINIMAL_CONFIG)
    for member in data["team"]:
        member["email"] = people[member["slack_id"]]
    data["crm"] = {"system": "hubspot", "hubspot": {"portal_id": "4410000"}}
    return parse_config(data, "test config")


@pytest.mark.parametrize("crm_bot_config", [_unmapped_sdr_config()])
def test_an_sdr_hubspot_does_not_know_is_named_to_the_managers_and_the_lead_is_not_lost(crm_bot):
    _, body = crm_bot.post_lead(LEAD)
    settled(crm_bot)

    assert lead_row(crm_bot, body["id"]).owner_id == "U0SDR1"  # routed and alerted as ever
    crm_bot.alert_for(body["id"])
    record = contact(crm_bot.hubspot)  # the record exists, so nobody loses the lead in HubSpot either
    assert "hubspot_owner_id" not in record["properties"]
    notice = crm_bot.slack.wait_for(
        lambda: next((m for m in crm_bot.slack.messages_in("C0ESCALATE") if "HubSpot refused" in m["text"]), None)
    )
    assert "UNMAPPED_OWNER" in notice["text"] and "Sam Rivera is not a HubSpot owner" in notice["text"]
    assert f"lead #{body['id']}" in notice["text"]


def test_a_server_beside_workers_leaves_the_crm_writes_to_them(database_url, fake_slack, clock, hubspot):
    """`serve --no-sweep` (the Procfile's web process) answers intake and leaves the rest to `leadbot worker`: the
    CRM writes always, a DM unless it has waited WORKERS_FIRST (no worker runs yet here)."""
    settings = {"hubspot_access_token": TOKEN, "hubspot_api_url": hubspot.url}
    web, server = start_bot(database_url, fake_slack, clock, crm_config(), background=False, **settings)
    worker = None
    try:
        bot = RunningBot(web, server.url, fake_slack, clock)
        _, body = bot.post_lead(LEAD)
        assert web.relay.deliver_due() == 0  # left to the workers at first
        assert fake_slack.calls_to("chat.postMessage") == []
        clock.advance(WORKERS_FIRST)
        web.relay.kick()
        bot.alert_for(body["id"])  # the DM went out from the web process once it had waited
        worker_started = time.time()
        worker = build_leadbot(Settings(database_url=database_url, slack_bot_token=fake_slack.bot_token,
                                        slack_api_url=fake_slack.base_url, **settings),
                               crm_config(), clock=clock, relay_poll_every=0.05)  # fmt: skip
        worker.start(sweep=True)
        record = contact(hubspot)
        assert record["properties"]["hubspot_owner_id"] == owner_id(hubspot, "U0SDR1")
        assert all(r.received_at >= worker_started for r in hubspot.requests)  # none from the web process
    finally:
        if worker:
            worker.stop()
            worker.engine.dispose()
        stop_bot(web, server)


def test_with_no_crm_configured_nothing_is_queued_for_one(bot):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])
    with read_session(bot.engine) as session:
        targets = {r.target for r in session.exec(select(OutboxMessage)).all()}
    assert targets == {"slack"} and bot.leadbot.crm_relay is None


def test_check_config_names_members_hubspot_does_not_know_and_missing_stamp_properties(
    hubspot, tmp_path, monkeypatch, capsys
):
    data = yaml.safe_load(MINIMAL_CONFIG)
    for member in data["team"]:
        member["email"] = PEOPLE[member["slack_id"]]
    data["team"][1]["email"] = "ana.old@acme.test"
    data["crm"] = {"system": "hubspot", "stamp_fields": {"lead_id": "leadbot_lead_id", "routing_reason": "why_us"}}
    path = tmp_path / "leadbot.yml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("LEADBOT_CONFIG", str(path))
    monkeypatch.setenv("HUBSPOT_API_URL", hubspot.url)

    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-revoked")
    assert main(["check-config"]) == 2
    assert "INVALID_AUTHENTICATION" in capsys.readouterr().err

    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    assert main(["check-config"]) == 1
    out = capsys.readouterr().out
    assert "Ana Silva: HubSpot has no owner with the email ana.old@acme.test" in out
    assert "no property 'why_us'" in out and "leadbot_lead_id" not in out
    assert "Sam Rivera" not in out
