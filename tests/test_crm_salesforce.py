"""Write-back to Salesforce: real simple-salesforce calls against the Salesforce stand-in on 127.0.0.1,
signed in with the JWT bearer flow (an RSA key made for the test) unless a test says otherwise."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import unquote

import pytest
import yaml
from sqlmodel import select

from bot.devtools.standin.requests import post
from bot.devtools.standin.salesforce_api import FakeSalesforce
from bot.runtime.cli import main
from store import outbox as outbox_store
from store.db import read_session, write_session
from store.models import Lead, Opportunity
from tests.conftest import (
    CRM_PEOPLE,
    INTAKE_TOKEN,
    MINIMAL_CONFIG,
    SALESFORCE_CLIENT_ID,
    SALESFORCE_USERNAME,
    RunningBot,
    eventually,
    parse_config,
    start_bot,
    stop_bot,
)
from tests.crm_support import crm_rows, drained, http_get, lead_row, settled, unsent
from tests.test_handoff import LEAD, QUALIFIED, _modal, _press, _qualified, _submit

CLIENT_ID, USERNAME, PEOPLE = SALESFORCE_CLIENT_ID, SALESFORCE_USERNAME, CRM_PEOPLE
STAMPS = {"lead_id": "Leadbot_Lead_Id__c", "routing_reason": "Leadbot_Routing_Reason__c"}


def crm_config(people: dict | None = None, **crm):
    data = yaml.safe_load(MINIMAL_CONFIG)
    for member in data["team"]:
        member["email"] = (people or PEOPLE)[member["slack_id"]]
    data["crm"] = {"system": "salesforce", "stamp_fields": STAMPS, **crm}
    return parse_config(data, "test config")


def jwt_settings(salesforce: FakeSalesforce, key_file: str) -> dict:
    return {
        "salesforce_instance_url": salesforce.url,
        "salesforce_login_url": salesforce.url,
        "salesforce_client_id": CLIENT_ID,
        "salesforce_username": USERNAME,
        "salesforce_private_key_file": key_file,
    }


@pytest.fixture
def crm_bot_config():
    return crm_config()


@pytest.fixture
def sign_in(salesforce, key_pair):
    return jwt_settings(salesforce, key_pair[0])


@pytest.fixture
def crm_bot(database_url, fake_slack, clock, salesforce, crm_bot_config, sign_in):
    leadbot, server = start_bot(database_url, fake_slack, clock, crm_bot_config, **sign_in)
    running = RunningBot(leadbot, server.url, fake_slack, clock)
    running.salesforce, running.crm = salesforce, "salesforce"
    yield running
    stop_bot(leadbot, server)


def user_id(salesforce: FakeSalesforce, slack_id: str) -> str:
    return next(u["Id"] for u in salesforce.records("User") if u["Email"] == PEOPLE[slack_id])


def the_lead(salesforce: FakeSalesforce, email: str = LEAD["email"]) -> dict:
    return salesforce.wait_for(lambda: next((r for r in salesforce.records("Lead") if r["Email"] == email), None))


# -- intake and assignment ------------------------------------------------------------------------------
def test_a_form_lead_becomes_a_salesforce_lead_owned_by_its_sdr_despite_the_orgs_assignment_rule(crm_bot):
    queue = crm_bot.salesforce.add_user("lead-queue@acme.test")
    crm_bot.salesforce.assignment_rule_owner = queue  # the org's active rule would hand every lead to a queue
    status, body = crm_bot.post_lead(LEAD)
    assert status == 201
    settled(crm_bot)

    [record] = crm_bot.salesforce.records("Lead")
    assert record["OwnerId"] == user_id(crm_bot.salesforce, "U0SDR1")
    assert (record["Status"], record["FirstName"], record["Company"], record["Title"]) == (
        "Open - Not Contacted",
        "Jordan",
        "Northwind",
        "VP Engineering",
    )
    assert record["Leadbot_Lead_Id__c"] == str(body["id"]) and "round" in record["Leadbot_Routing_Reason__c"].lower()
    writes = [r for r in crm_bot.salesforce.requests if "/sobjects/Lead" in r.path and r.method in ("POST", "PATCH")]
    assert writes and all(r.headers.get("sforce-auto-assign") == "FALSE" for r in writes)
    lead = lead_row(crm_bot, body["id"])
    url = f"{crm_bot.salesforce.url}/lightning/r/Lead/{record['Id']}/view"
    assert (lead.crm_record_id, lead.crm_record_type, lead.crm_record_url) == (record["Id"], "Lead", url)
    alert = crm_bot.alert_for(body["id"])
    # Posted with the link, or redrawn with it a little later (new DMs of a burst go first).
    crm_bot.clock.advance(timedelta(seconds=21))
    crm_bot.leadbot.relay.kick()
    crm_bot.slack.wait_for(lambda: url in json.dumps(alert["blocks"]))
    assert "Open in Salesforce" in json.dumps(alert["blocks"])
    assert crm_bot.salesforce.tokens_issued == 1  # one sign-in for all of it


def test_a_lead_that_exists_is_found_by_email_and_not_created_again(crm_bot):
    existing = crm_bot.salesforce.add_record(
        "Lead", {"Email": "Jordan@Northwind.io", "LastName": "Blake", "Company": "Northwind"}
    )
    _, body = crm_bot.post_lead(LEAD)
    settled(crm_bot)

    [record] = crm_bot.salesforce.records("Lead")
    assert record["Id"] == existing and lead_row(crm_bot, body["id"]).crm_record_id == existing
    assert record["OwnerId"] == user_id(crm_bot.salesforce, "U0SDR1")


@pytest.mark.parametrize("crm_bot_config", [crm_config(salesforce={"search_contacts": True})])
def test_with_search_contacts_a_known_contact_gets_the_owner_and_no_new_lead(crm_bot):
    crm_bot.salesforce.add_record("Contact", {"Email": LEAD["email"], "LastName": "Blake"})
    _, body = crm_bot.post_lead(LEAD)
    settled(crm_bot)

    assert crm_bot.salesforce.records("Lead") == []
    [record] = crm_bot.salesforce.records("Contact")
    assert record["OwnerId"] == user_id(crm_bot.salesforce, "U0SDR1") and "Status" not in record
    assert lead_row(crm_bot, body["id"]).crm_record_type == "Contact"


def test_a_lead_from_a_salesforce_flow_is_written_to_its_own_record_without_a_search(crm_bot):
    record_id = crm_bot.salesforce.add_record(
        "Lead", {"Email": "priya@fabrikam.co.uk", "LastName": "Shah", "Company": "Fabrikam"}
    )
    payload = {"Id": record_id, "Email": "priya@fabrikam.co.uk", "LastName": "Shah", "Company": "Fabrikam"}
    status, _, _ = post(
        f"{crm_bot.url}/leads/salesforce",
        json.dumps(payload),
        {"Content-Type": "application/json", "Authorization": f"Bearer {INTAKE_TOKEN}"},
    )
    assert status == 201
    settled(crm_bot)

    assert len(crm_bot.salesforce.records("Lead")) == 1
    queries = [unquote(r.path) for r in crm_bot.salesforce.requests if r.path.endswith("/query/")]
    assert not any("priya" in q for q in queries)  # no look-up by email: the record came with the lead
    assert crm_bot.salesforce.records("Lead")[0]["OwnerId"] == user_id(crm_bot.salesforce, "U0SDR1")


def test_a_reassignment_moves_the_owner_in_salesforce_too(crm_bot):
    _, body = crm_bot.post_lead(LEAD)
    settled(crm_bot)
    crm_bot.sweep(timedelta(hours=24, minutes=1))
    eventually(lambda: lead_row(crm_bot, body["id"]).owner_id == "U0SDR2")
    settled(crm_bot)

    assert the_lead(crm_bot.salesforce)["OwnerId"] == user_id(crm_bot.salesforce, "U0SDR2")


# -- touches, stages, the opportunity ---------------------------------------------------------------------
def test_touches_are_completed_tasks_on_the_lead_and_the_first_sets_working_contacted(crm_bot):
    _, body = crm_bot.post_lead(LEAD)
    alert = crm_bot.alert_for(body["id"])
    crm_bot.click_contacted(body["id"], "U0SDR1", via="call")
    crm_bot.slack.wait_for(lambda: "Log another touch" in json.dumps(alert["blocks"]))
    crm_bot.clock.advance(timedelta(hours=1))
    crm_bot.click_contacted(body["id"], "U0SDR1", via="email")
    crm_bot.salesforce.wait_for(lambda: len(crm_bot.salesforce.records("Task")) == 2)
    settled(crm_bot)

    record = the_lead(crm_bot.salesforce)
    call, email = sorted(crm_bot.salesforce.records("Task"), key=lambda t: t["Id"])
    assert (call["TaskSubtype"], email["TaskSubtype"]) == ("Call", "Email")
    assert call["WhoId"] == email["WhoId"] == record["Id"]
    assert call["Status"] == "Completed" and call["OwnerId"] == user_id(crm_bot.salesforce, "U0SDR1")
    assert "Sam Rivera" in call["Description"] and call["Subject"].startswith("First touch")
    assert record["Status"] == "Working - Contacted"


def test_qualify_and_accept_write_status_a_note_and_an_opportunity_owned_by_the_ae(crm_bot):
    _, body = crm_bot.post_lead(LEAD)
    alert = crm_bot.alert_for(body["id"])
    crm_bot.click_contacted(body["id"], "U0SDR1", via="call")
    crm_bot.slack.wait_for(lambda: "Log another touch" in json.dumps(alert["blocks"]))
    _press(crm_bot, "U0SDR1", crm_bot.alert_for(body["id"]), "lead.qualify")
    assert _submit(crm_bot, "U0SDR1", _modal(crm_bot), QUALIFIED)[0] == 200
    handoff = crm_bot.slack.wait_for(
        lambda: next((m for m in crm_bot.slack.messages_in("C0HANDOFF") if not m["thread_ts"]), None)
    )
    crm_bot.salesforce.wait_for(lambda: any("SQL" in t["Subject"] for t in crm_bot.salesforce.records("Task")))
    settled(crm_bot)
    [note] = [t for t in crm_bot.salesforce.records("Task") if t["TaskSubtype"] == "Task"]
    assert "SQL: set by Sam Rivera" in note["Description"] and "Alex Kim (AE)" in note["Description"]

    assert _press(crm_bot, "U0AE1", handoff, "handoff.accept") == 200
    crm_bot.salesforce.wait_for(lambda: crm_bot.salesforce.records("Opportunity"))
    settled(crm_bot)

    [opportunity] = crm_bot.salesforce.records("Opportunity")
    [account] = crm_bot.salesforce.records("Account")
    [contact] = crm_bot.salesforce.records("Contact")
    [role] = crm_bot.salesforce.records("OpportunityContactRole")
    ae = user_id(crm_bot.salesforce, "U0AE1")
    assert (opportunity["OwnerId"], opportunity["StageName"], opportunity["AccountId"]) == (
        ae,
        "Qualification",
        account["Id"],
    )
    assert "budget: 20-40k" in opportunity["Description"]
    assert (account["Website"], account["Name"]) == ("northwind.io", "Northwind")
    assert (contact["Email"], contact["LastName"], contact["AccountId"]) == (LEAD["email"], "Blake", account["Id"])
    assert (role["OpportunityId"], role["ContactId"], role["IsPrimary"]) == (opportunity["Id"], contact["Id"], True)
    with read_session(crm_bot.engine) as session:
        [stored] = session.exec(select(Opportunity)).all()
    assert stored.crm_id == opportunity["Id"]
    assert stored.crm_url == f"{crm_bot.salesforce.url}/lightning/r/Opportunity/{opportunity['Id']}/view"
    reply = crm_bot.slack.wait_for(
        lambda: next(
            (m for m in crm_bot.slack.messages_in("C0HANDOFF") if m["thread_ts"] and stored.crm_url in m["text"]), None
        )
    )
    assert "opportunity in Salesforce" in reply["text"]


@pytest.mark.parametrize("crm_bot_config", [crm_config(salesforce={"opportunity_stage": "Discovery"})])
def test_an_opportunity_salesforce_refuses_leaves_no_account_or_contact_behind(crm_bot):
    _, body = crm_bot.post_lead(LEAD)
    alert = crm_bot.alert_for(body["id"])
    crm_bot.click_contacted(body["id"], "U0SDR1", via="call")
    crm_bot.slack.wait_for(lambda: "Log another touch" in json.dumps(alert["blocks"]))
    _press(crm_bot, "U0SDR1", crm_bot.alert_for(body["id"]), "lead.qualify")
    assert _submit(crm_bot, "U0SDR1", _modal(crm_bot), QUALIFIED)[0] == 200
    handoff = crm_bot.slack.wait_for(
        lambda: next((m for m in crm_bot.slack.messages_in("C0HANDOFF") if not m["thread_ts"]), None)
    )
    assert _press(crm_bot, "U0AE1", handoff, "handoff.accept") == 200
    notice = crm_bot.slack.wait_for(
        lambda: next((m for m in crm_bot.slack.messages_in("C0ESCALATE") if "Salesforce refused" in m["text"]), None)
    )
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in notice["text"] and "Discovery" in notice["text"]
    assert crm_bot.salesforce.records("Opportunity") == []
    assert crm_bot.salesforce.records("Account") == [] and crm_bot.salesforce.records("Contact") == []


def test_a_mass_reassignment_is_one_collection_update_and_a_deleted_lead_fails_alone(crm_bot):
    crm_bot.salesforce.assignment_rule_owner = crm_bot.salesforce.add_user("lead-queue@acme.test")
    for n in range(30):
        crm_bot.post_lead({**LEAD, "email": f"person{n}@northwind.io"})
    settled(crm_bot, timeout=30)
    relay = crm_bot.leadbot.crm_relay
    relay.stop()  # the queue grows while nobody sends: a deep queue
    crm_bot.sweep(timedelta(hours=24, minutes=1))  # every lead idle for a day: all reassigned
    eventually(lambda: unsent(crm_bot) == 30)
    gone = the_lead(crm_bot.salesforce, "person7@northwind.io")["Id"]
    crm_bot.salesforce.delete_record("Lead", gone)
    before = len(crm_bot.salesforce.requests)

    while relay.deliver_due():
        pass

    # (Besides, at most a look-up of the new owner's User by email, the first time Leadbot needs them.)
    calls = [r for r in crm_bot.salesforce.requests[before:] if r.method != "GET"]
    assert [(r.method, r.path) for r in calls] == [("PATCH", "/services/data/v62.0/composite/sobjects")]
    assert len(calls[0].body["records"]) == 30 and calls[0].headers.get("sforce-auto-assign") == "FALSE"
    with read_session(crm_bot.engine) as session:
        leads = session.exec(select(Lead)).all()
    for lead in leads:
        if lead.crm_record_id != gone:
            stored = next(r for r in crm_bot.salesforce.records("Lead") if r["Id"] == lead.crm_record_id)
            assert stored["OwnerId"] == user_id(crm_bot.salesforce, lead.owner_id)
    [failed] = [r for r in crm_rows(crm_bot) if r.failed]
    assert "ENTITY_IS_DELETED" in failed.last_error and unsent(crm_bot) == 0


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
    crm_bot.salesforce.wait_for(lambda: len(_notes(crm_bot.salesforce)) == 3)  # SQL, Engaged, Disqualified
    settled(crm_bot)

    assert the_lead(crm_bot.salesforce)["Status"] == "Working - Contacted"  # back to Engaged, with its SDR
    notes = _notes(crm_bot.salesforce)
    sent_back = next(n for n in notes if "Engaged: set by" in n)
    assert "set by Alex Kim" in sent_back and "Reason: Bad timing" in sent_back and "Budget frozen" in sent_back
    assert the_lead(crm_bot.salesforce, "kim@contoso.com")["Status"] == "Closed - Not Converted"
    closed = next(n for n in notes if "Disqualified: set by" in n)
    assert "Reason: Student" in closed and "Thesis" in closed


def _notes(salesforce: FakeSalesforce) -> list[str]:
    return [t["Description"] for t in salesforce.records("Task") if t["TaskSubtype"] == "Task"]


def test_a_burst_of_new_leads_is_one_query_and_one_collection_create(crm_bot):
    crm_bot.salesforce.assignment_rule_owner = crm_bot.salesforce.add_user("lead-queue@acme.test")
    existing = crm_bot.salesforce.add_record(
        "Lead", {"Email": "person3@northwind.io", "LastName": "Old", "Company": "Northwind"}
    )
    crm_bot.leadbot.crm_relay.stop()
    for n in range(30):
        crm_bot.post_lead({**LEAD, "email": f"person{n}@northwind.io"})
    eventually(lambda: unsent(crm_bot) == 30)
    before = len(crm_bot.salesforce.requests)

    while crm_bot.leadbot.crm_relay.deliver_due():
        pass

    writes = [
        (r.method, r.path) for r in crm_bot.salesforce.requests[before:] if r.path.endswith("/composite/sobjects")
    ]
    assert writes == [
        ("POST", "/services/data/v62.0/composite/sobjects"),
        ("PATCH", "/services/data/v62.0/composite/sobjects"),
    ]
    # One look-up query for the 30 emails, and at most one per SDR for their User id: not one per lead.
    queries = [r for r in crm_bot.salesforce.requests[before:] if r.path.endswith("/query/")]
    assert len(queries) <= 3
    leads = {r["Email"]: r for r in crm_bot.salesforce.records("Lead")}
    assert len(leads) == 30 and leads["person3@northwind.io"]["Id"] == existing
    with read_session(crm_bot.engine) as session:
        stored = session.exec(select(Lead)).all()
    for lead in stored:
        record = next(r for r in leads.values() if r["Id"] == lead.crm_record_id)
        assert record["OwnerId"] == user_id(crm_bot.salesforce, lead.owner_id)  # not the assignment rule's queue
    assert unsent(crm_bot) == 0


# -- faults ------------------------------------------------------------------------------------------------
def test_salesforce_down_keeps_intake_and_slack_going_and_the_writes_land_later_in_order(crm_bot):
    crm_bot.salesforce.fail_next("/services/data", status=503, times=1000, message="Server unavailable")
    status, body = crm_bot.post_lead(LEAD)
    assert status == 201
    alert = crm_bot.alert_for(body["id"])  # Slack did not wait for Salesforce
    crm_bot.click_contacted(body["id"], "U0SDR1", via="call")
    crm_bot.slack.wait_for(lambda: "Log another touch" in json.dumps(alert["blocks"]))
    eventually(lambda: unsent(crm_bot) == 2)  # the record (with its owner), the touch
    # The relay has met the outage (and recorded it) before the test moves the clock on.
    assert "503" in eventually(lambda: crm_rows(crm_bot)[0].last_error)
    assert crm_bot.salesforce.records("Lead") == []

    crm_bot.salesforce.clear_failures()
    crm_bot.clock.advance(timedelta(minutes=5))
    crm_bot.leadbot.crm_relay.kick()
    settled(crm_bot)

    assert the_lead(crm_bot.salesforce)["Status"] == "Working - Contacted"  # the touch's status landed last
    assert len(crm_bot.salesforce.records("Task")) == 1


def test_the_daily_api_limit_waits_minutes_without_holding_up_slack(crm_bot):
    crm_bot.salesforce.fail_next(
        "/services/data", status=403, errorCode="REQUEST_LIMIT_EXCEEDED", message="TotalRequests Limit exceeded."
    )
    _, body = crm_bot.post_lead(LEAD)
    crm_bot.alert_for(body["id"])  # Slack is not held up

    eventually(lambda: crm_rows(crm_bot)[0].last_error)
    row = crm_rows(crm_bot)[0]
    assert "API limit" in row.last_error and not row.failed
    assert row.next_attempt_at - crm_bot.clock.now() >= timedelta(minutes=5)
    assert crm_bot.salesforce.records("Lead") == []

    crm_bot.clock.advance(timedelta(minutes=5, seconds=1))
    crm_bot.leadbot.crm_relay.kick()
    settled(crm_bot)
    assert the_lead(crm_bot.salesforce)["OwnerId"] == user_id(crm_bot.salesforce, "U0SDR1")


def test_an_expired_session_is_renewed_with_the_jwt_flow_and_nothing_fails(crm_bot):
    crm_bot.post_lead(LEAD)
    settled(crm_bot)
    crm_bot.salesforce.expire_sessions()  # the org's session timeout passed

    _, body = crm_bot.post_lead({**LEAD, "email": "kim@contoso.com"})
    settled(crm_bot)

    assert crm_bot.salesforce.tokens_issued == 2
    assert not any(r.failed for r in crm_rows(crm_bot))
    assert the_lead(crm_bot.salesforce, "kim@contoso.com")["OwnerId"]


def test_an_expired_access_token_that_cannot_be_renewed_is_told_once_not_retried(
    database_url, fake_slack, clock, salesforce
):
    settings = {"salesforce_instance_url": salesforce.url, "salesforce_access_token": salesforce.issue_token()}
    leadbot, server = start_bot(database_url, fake_slack, clock, crm_config(), **settings)
    bot = RunningBot(leadbot, server.url, fake_slack, clock)
    bot.crm = "salesforce"
    try:
        salesforce.expire_sessions()
        bot.post_lead(LEAD)
        bot.post_lead({**LEAD, "email": "kim@contoso.com"})
        settled(bot)
        notices = fake_slack.wait_for(
            lambda: [m for m in fake_slack.messages_in("C0ESCALATE") if "Salesforce refused" in m["text"]]
        )
        assert len(notices) == 1 and "INVALID_SESSION_ID" in notices[0]["text"]
        assert all(r.failed for r in crm_rows(bot))
        calls = len(salesforce.requests)
        clock.advance(timedelta(hours=1))
        leadbot.crm_relay.kick()
        assert len(salesforce.requests) == calls  # no retry storm against a dead token
    finally:
        stop_bot(leadbot, server)


def test_lost_answers_never_make_a_second_lead_task_or_opportunity(crm_bot):
    crm_bot.salesforce.lose_answer_next("/services/data/v62.0/sobjects/Lead")  # created, not heard
    crm_bot.salesforce.lose_answer_next("/services/data/v62.0/sobjects/Task")
    _, body = crm_bot.post_lead(LEAD)
    alert = crm_bot.alert_for(body["id"])
    crm_bot.click_contacted(body["id"], "U0SDR1", via="call")
    crm_bot.slack.wait_for(lambda: "Log another touch" in json.dumps(alert["blocks"]))
    drained(crm_bot)
    _press(crm_bot, "U0SDR1", crm_bot.alert_for(body["id"]), "lead.qualify")
    assert _submit(crm_bot, "U0SDR1", _modal(crm_bot), QUALIFIED)[0] == 200
    handoff = crm_bot.slack.wait_for(
        lambda: next((m for m in crm_bot.slack.messages_in("C0HANDOFF") if not m["thread_ts"]), None)
    )
    crm_bot.salesforce.lose_answer_next("/services/data/v62.0/composite/graph")
    assert _press(crm_bot, "U0AE1", handoff, "handoff.accept") == 200
    crm_bot.salesforce.wait_for(lambda: crm_bot.salesforce.records("Opportunity"))
    drained(crm_bot)

    assert len(crm_bot.salesforce.records("Lead")) == 1
    assert len([t for t in crm_bot.salesforce.records("Task") if t["TaskSubtype"] == "Call"]) == 1
    assert len(crm_bot.salesforce.records("Opportunity")) == 1 and len(crm_bot.salesforce.records("Contact")) == 1
    with read_session(crm_bot.engine) as session:
        [stored] = session.exec(select(Opportunity)).all()
    assert stored.crm_id == crm_bot.salesforce.records("Opportunity")[0]["Id"]


def test_a_lead_created_just_before_a_crash_is_not_created_again(crm_bot, salesforce):
    """Killed after Salesforce created the Lead and before the row was marked done: the next attempt finds it."""
    crm_bot.leadbot.crm_relay.stop()
    _, body = crm_bot.post_lead(LEAD)
    relay = crm_bot.leadbot.crm_relay
    with write_session(crm_bot.engine) as session:
        [claimed, *_] = outbox_store.claim_due(session, crm_bot.clock.now(), timedelta(minutes=3), 1, ["salesforce"])
    relay.targets["salesforce"].deliver(claimed.row, in_doubt=False)  # Salesforce did it; nobody recorded it
    assert len(salesforce.records("Lead")) == 1

    crm_bot.clock.advance(timedelta(minutes=4))  # the dead sender's lease runs out
    while relay.deliver_due():
        pass

    assert len(salesforce.records("Lead")) == 1
    assert salesforce.records("Lead")[0]["OwnerId"] == user_id(salesforce, "U0SDR1")
    assert lead_row(crm_bot, body["id"]).crm_record_id == salesforce.records("Lead")[0]["Id"]


def test_a_validation_rule_refusal_is_told_once_with_salesforces_words_and_can_be_sent_again(
    crm_bot, database_url, monkeypatch, capsys
):
    rule = "Phone is required for leads from the website"
    crm_bot.salesforce.fail_next(
        "/services/data/v62.0/sobjects/Lead", status=400, times=1000, errorCode="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        message=rule,
    )  # fmt: skip
    crm_bot.post_lead(LEAD)
    crm_bot.post_lead({**LEAD, "email": "kim@contoso.com"})
    settled(crm_bot)

    notices = crm_bot.slack.wait_for(
        lambda: [m for m in crm_bot.slack.messages_in("C0ESCALATE") if "Salesforce refused" in m["text"]]
    )
    assert len(notices) == 1 and rule in notices[0]["text"]
    with read_session(crm_bot.engine) as session:
        causes = outbox_store.failures_by_cause(session, "salesforce")
    assert sum(causes.values()) == 2  # each lead's record write (its owner in it)
    _, raw, _ = http_get(f"{crm_bot.url}/metrics")
    assert 'leadbot_crm_failed{cause="FIELD_CUSTOM_VALIDATION_EXCEPTION"} 2.0' in raw.decode()

    crm_bot.salesforce.clear_failures()  # the admin fixes the rule
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["outbox", "retry", "--target", "salesforce"]) == 0
    assert "2 failed deliveries queued again" in capsys.readouterr().out
    crm_bot.leadbot.crm_relay.kick()
    settled(crm_bot)
    leads = crm_bot.salesforce.records("Lead")
    assert len(leads) == 2 and all(r["OwnerId"] for r in leads)


@pytest.mark.parametrize("crm_bot_config", [crm_config({**PEOPLE, "U0SDR1": "sam.personal@example.org"})])
def test_an_sdr_salesforce_does_not_know_is_named_to_the_managers_and_the_lead_is_not_lost(crm_bot):
    _, body = crm_bot.post_lead(LEAD)
    settled(crm_bot)

    assert lead_row(crm_bot, body["id"]).owner_id == "U0SDR1"
    record = the_lead(crm_bot.salesforce)  # the record exists, owned by the integration user until fixed
    assert "OwnerId" not in record
    notice = crm_bot.slack.wait_for(
        lambda: next((m for m in crm_bot.slack.messages_in("C0ESCALATE") if "Salesforce refused" in m["text"]), None)
    )
    assert "UNMAPPED_OWNER" in notice["text"] and "Sam Rivera is not a Salesforce owner" in notice["text"]


# -- check-config -------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::UserWarning:simple_salesforce.login")  # its hint to authorize the app
def test_check_config_signs_in_and_names_unknown_users_and_missing_fields(
    salesforce, key_pair, tmp_path, monkeypatch, capsys
):
    data = yaml.safe_load(MINIMAL_CONFIG)
    for member in data["team"]:
        member["email"] = PEOPLE[member["slack_id"]]
    data["team"][1]["email"] = "ana.old@acme.test"
    data["crm"] = {
        "system": "salesforce",
        "stamp_fields": {"lead_id": "Leadbot_Lead_Id__c", "routing_reason": "Why__c"},
    }
    path = tmp_path / "leadbot.yml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("LEADBOT_CONFIG", str(path))

    assert main(["check-config"]) == 0
    assert "not checked: crm.system is salesforce, but SALESFORCE_INSTANCE_URL is not set" in capsys.readouterr().out

    for name, value in jwt_settings(salesforce, key_pair[0]).items():
        monkeypatch.setenv(name.upper(), value)
    monkeypatch.setenv("SALESFORCE_USERNAME", "someone.else@acme.test")
    assert main(["check-config"]) == 2
    assert "user hasn't approved this consumer" in capsys.readouterr().err

    monkeypatch.setenv("SALESFORCE_USERNAME", USERNAME)
    assert main(["check-config"]) == 1
    out = capsys.readouterr().out
    assert "Ana Silva: Salesforce has no active user with the email ana.old@acme.test" in out
    assert "no field 'Why__c'" in out and "Leadbot_Lead_Id__c" not in out and "Sam Rivera" not in out
