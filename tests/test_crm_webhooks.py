"""HubSpot and Salesforce webhooks reach the same intake; HubSpot's v3 signature is checked."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.devtools.standin.requests import post
from store import leads as lead_store
from store.db import read_session
from tests.conftest import INTAKE_TOKEN, hubspot_headers, stored_nothing

HUBSPOT_CONTACT = {
    "objectId": 1234567,
    "properties": {
        "email": {"value": "jordan@northwind.io"},
        "firstname": {"value": "Jordan"},
        "lastname": {"value": "Blake"},
        "company": {"value": "Northwind"},
        "jobtitle": {"value": "VP Engineering"},
        "numemployees": {"value": "201-500"},
        "hs_analytics_source": {"value": "PAID_SEARCH"},
        "demo_request": {"value": "true"},
        "lifecyclestage": {"value": "lead"},
    },
}


def _now_ms(bot) -> int:
    return int(bot.clock.now().timestamp() * 1000)


def test_a_signed_hubspot_workflow_webhook_becomes_a_lead(bot):
    url, body = f"{bot.url}/leads/hubspot", json.dumps(HUBSPOT_CONTACT)

    status, raw, _ = post(url, body, hubspot_headers(url, body, _now_ms(bot)))

    assert status == 201
    with read_session(bot.engine) as session:
        lead = lead_store.get_lead(session, json.loads(raw)["id"])
    assert (lead.email, lead.first_name, lead.title, lead.company_size) == (
        "jordan@northwind.io",
        "Jordan",
        "VP Engineering",
        "201-500",
    )
    assert (lead.lead_source, lead.demo_request, lead.external_id) == ("Paid Search", True, "hubspot:1234567")
    assert lead.extra == {"lifecyclestage": "lead"}


@pytest.mark.parametrize("case", ["wrong-secret", "stale", "missing", "tampered"])
def test_a_hubspot_webhook_with_a_bad_signature_gets_401_and_stores_nothing(bot, case):
    url, body = f"{bot.url}/leads/hubspot", json.dumps(HUBSPOT_CONTACT)
    now = _now_ms(bot)
    headers = {
        "wrong-secret": hubspot_headers(url, body, now, secret="not-the-secret"),
        "stale": hubspot_headers(url, body, now - int(timedelta(minutes=6).total_seconds() * 1000)),
        "missing": {"Content-Type": "application/json"},
        "tampered": hubspot_headers(url, body.replace("Jordan", "Mallory"), now),
    }[case]

    status, raw, _ = post(url, body, headers)

    assert status == 401 and json.loads(raw)["error"] == "unauthorized"
    assert stored_nothing(bot.engine)


def test_a_signed_hubspot_webhook_without_an_email_is_refused_naming_the_field(bot):
    url, body = f"{bot.url}/leads/hubspot", json.dumps({"objectId": 1, "properties": {"firstname": "No mail"}})

    status, raw, _ = post(url, body, hubspot_headers(url, body, _now_ms(bot)))

    assert status == 422 and "email" in json.loads(raw)["fields"]
    assert stored_nothing(bot.engine)


SALESFORCE_LEAD = {
    "attributes": {"type": "Lead"},
    "Id": "00Q5g00000ABCDE",
    "Email": "priya@fabrikam.co.uk",
    "FirstName": "Priya",
    "LastName": "Natarajan",
    "Company": "Fabrikam",
    "Title": "Head of Ops",
    "Country": "GB",
    "NumberOfEmployees": 120,
    "LeadSource": "Web",
    "Budget__c": "20-40k",
}


def test_a_salesforce_flow_callout_with_the_token_becomes_a_lead(bot):
    status, raw, _ = post(
        f"{bot.url}/leads/salesforce",
        json.dumps(SALESFORCE_LEAD),
        {"Content-Type": "application/json", "Authorization": f"Bearer {INTAKE_TOKEN}"},
    )

    assert status == 201
    with read_session(bot.engine) as session:
        lead = lead_store.get_lead(session, json.loads(raw)["id"])
    assert (lead.email, lead.company, lead.company_size, lead.country) == (
        "priya@fabrikam.co.uk",
        "Fabrikam",
        "120",
        "GB",
    )
    assert lead.external_id == "salesforce:00Q5g00000ABCDE" and lead.extra == {"Budget__c": "20-40k"}


def test_a_salesforce_callout_without_the_token_gets_401(bot):
    status, _, _ = post(
        f"{bot.url}/leads/salesforce", json.dumps(SALESFORCE_LEAD), {"Content-Type": "application/json"}
    )
    assert status == 401 and stored_nothing(bot.engine)


def test_the_crms_own_creation_time_is_kept_so_the_delay_before_leadbot_counts_as_the_systems(bot):
    created = bot.clock.now() - timedelta(minutes=7)
    created_ms = str(int(created.timestamp() * 1000))  # as HubSpot sends createdate: epoch milliseconds
    contact = {**HUBSPOT_CONTACT, "properties": {**HUBSPOT_CONTACT["properties"], "createdate": {"value": created_ms}}}
    url, body = f"{bot.url}/leads/hubspot", json.dumps(contact)
    from_hubspot = json.loads(post(url, body, hubspot_headers(url, body, _now_ms(bot)))[1])["id"]
    record = {
        **SALESFORCE_LEAD,
        "Email": "x@fabrikam.co.uk",
        "CreatedDate": created.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
    }
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {INTAKE_TOKEN}"}
    from_salesforce = json.loads(post(f"{bot.url}/leads/salesforce", json.dumps(record), headers)[1])["id"]
    ahead = bot.post_lead({"email": "y@a.io", "created_at": "2099-01-01T00:00:00Z"})[1]["id"]  # a clock far ahead

    with read_session(bot.engine) as session:
        for lead_id in (from_hubspot, from_salesforce):
            lead = lead_store.get_lead(session, lead_id)
            assert (lead.source_created_at, lead.source_seconds) == (created, 420.0)
        assert lead_store.get_lead(session, ahead).source_created_at is None  # ignored, not trusted
