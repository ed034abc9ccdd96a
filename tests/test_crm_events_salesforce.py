"""What happens in Salesforce comes back: record-triggered Flows call out on a Task logged and an owner changed.

The Salesforce stand-in fires the Flows the README sets up, for a person's clicks and Leadbot's writes alike.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.devtools.standin.salesforce_people import salesforce_time
from store import leads as lead_store
from store.db import read_session
from tests.conftest import INTAKE_TOKEN, RunningBot, start_bot, stop_bot
from tests.crm_support import answers, crm_rows, lead_row, new_lead, settled
from tests.test_crm_salesforce import crm_config, jwt_settings, user_id

MINUTE = timedelta(minutes=1)


@pytest.fixture
def crm_bot(database_url, fake_slack, clock, salesforce, key_pair):
    leadbot, server = start_bot(database_url, fake_slack, clock, crm_config(), **jwt_settings(salesforce, key_pair[0]))
    salesforce.send_flow_callouts_to(f"{server.url}/crm/salesforce/events", INTAKE_TOKEN, now=clock.now)
    running = RunningBot(leadbot, server.url, fake_slack, clock)
    running.salesforce, running.crm = salesforce, "salesforce"
    yield running
    stop_bot(leadbot, server)


def answered(bot) -> list[dict]:
    return answers(bot.salesforce)


def test_a_call_logged_in_salesforce_by_the_owner_is_the_first_touch(crm_bot):
    lead_id, record_id = new_lead(crm_bot)
    crm_bot.clock.advance(3 * MINUTE)

    task = crm_bot.salesforce.log_task_as_user(record_id, user_id(crm_bot.salesforce, "U0SDR1"), subtype="Call")

    assert answered(crm_bot)[-1]["events"] == [f"touch on lead #{lead_id}: first_touch"]
    lead = lead_row(crm_bot, lead_id)
    assert (lead.first_touch_by, lead.first_touch_via, lead.first_touch_source) == ("U0SDR1", "call", "salesforce")
    assert lead.first_touch_at == crm_bot.clock.now()
    settled(crm_bot)
    assert [t["Id"] for t in crm_bot.salesforce.records("Task")] == [task]  # not copied back
    assert crm_bot.salesforce.records("Lead")[0]["Status"] == "Working - Contacted"


def test_a_slack_touch_written_as_a_task_comes_back_and_is_not_counted_twice(crm_bot):
    lead_id, _ = new_lead(crm_bot)
    assert crm_bot.click_contacted(lead_id, "U0SDR1", via="email") == 200
    settled(crm_bot)
    crm_bot.salesforce.wait_for(lambda: crm_bot.salesforce.records("Task"))
    assert answered(crm_bot)[-1]["events"] == ["Leadbot's own activity"]
    assert lead_row(crm_bot, lead_id).touch_count == 1


def test_an_owner_changed_in_salesforce_wins_and_is_not_written_back(crm_bot):
    lead_id, record_id = new_lead(crm_bot)
    writes = _writes(crm_bot)
    crm_bot.clock.advance(MINUTE)

    crm_bot.salesforce.set_owner_as_user(record_id, user_id(crm_bot.salesforce, "U0SDR2"))

    assert answered(crm_bot)[-1]["events"] == [f"owner changed on lead #{lead_id} to U0SDR2"]
    lead = lead_row(crm_bot, lead_id)
    assert (lead.owner_id, lead.routing_reason) == ("U0SDR2", "Changed in the CRM (owner changed in Salesforce)")
    settled(crm_bot)
    assert _writes(crm_bot) == writes
    assert crm_bot.salesforce.records("Lead")[0]["OwnerId"] == user_id(crm_bot.salesforce, "U0SDR2")


@pytest.mark.parametrize(
    ("token", "body", "status", "error"),
    [
        ("wrong", {"attributes": {"type": "Task"}, "Id": "00T1"}, 401, "unauthorized"),
        (None, {"attributes": {"type": "Task"}, "Id": "00T1"}, 401, "unauthorized"),
        (INTAKE_TOKEN, "{nope", 400, "malformed_json"),
        (INTAKE_TOKEN, {"Id": "00T1"}, 422, "invalid_event"),
        (INTAKE_TOKEN, {"attributes": {"type": "Lead"}, "Id": "00Q1", "OwnerId": "005X"}, 422, "invalid_event"),
        (INTAKE_TOKEN, {"attributes": {"type": "Task"}, "Id": "00T1", "WhoId": "00Q1",
                        "CreatedDate": "yesterday"}, 422, "invalid_event"),
    ],
    ids=["bad-token", "no-token", "not-json", "no-type", "owner-change-without-time", "bad-date"],
)  # fmt: skip
def test_bad_callouts_get_a_clear_answer_and_change_nothing(crm_bot, token, body, status, error):
    lead_id, _ = new_lead(crm_bot)
    got = crm_bot.post_json("/crm/salesforce/events", body if isinstance(body, str) else json.dumps(body), token)
    assert (got[0], got[1]["error"]) == (status, error)
    lead = lead_row(crm_bot, lead_id)
    assert (lead.owner_id, lead.touch_count) == ("U0SDR1", 0)


def test_a_task_dated_before_the_lead_existed_is_not_a_touch(crm_bot):
    lead_id, record_id = new_lead(crm_bot)
    old = {"attributes": {"type": "Task"}, "Id": "00T5g0000099AAA", "WhoId": record_id, "TaskSubtype": "Call",
           "CreatedDate": salesforce_time(crm_bot.clock.now() - timedelta(days=3))}  # fmt: skip
    status, answer = crm_bot.post_json("/crm/salesforce/events", old)
    assert status == 200 and answer["events"][0].startswith("not taken:")
    with read_session(crm_bot.engine) as session:
        assert not [a for a in lead_store.activities(session, lead_id) if a.kind == "touch"]


def _writes(bot) -> list[str]:
    return [r.method for r in crm_rows(bot)]
