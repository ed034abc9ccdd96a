"""The touch API: touches logged where the work happens (a sequencing tool, a Zapier step, a script)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import yaml
from sqlmodel import select

from bot.lifecycle.qualification import disqualify
from store import leads as lead_store
from store import timers as timer_store
from store.db import read_session
from store.models import Activity, Lead, OutboxMessage, TouchReceipt
from tests.conftest import INTAKE_TOKEN, MINIMAL_CONFIG, eventually, make_config

LEAD = {"email": "jordan@northwind.io", "first_name": "Jordan", "last_name": "Blake", "company": "Northwind"}
MINUTE = timedelta(minutes=1)


def _team_with_emails() -> list[dict]:
    team = yaml.safe_load(MINIMAL_CONFIG)["team"]
    for member in team:
        member["email"] = f"{member['name'].split()[0].lower()}@acme.test"
    team[0]["crm_owner_id"] = "81234567"
    return team


@pytest.fixture
def bot_config():
    return make_config(team=_team_with_emails())


def _lead(bot, lead_id: int) -> Lead:
    with read_session(bot.engine) as session:
        return lead_store.get_lead(session, lead_id)


def _touches(bot, lead_id: int) -> list[Activity]:
    with read_session(bot.engine) as session:
        return [a for a in lead_store.activities(session, lead_id) if a.kind == "touch"]


def _pending(bot, lead_id: int) -> set[str]:
    with read_session(bot.engine) as session:
        return {t.kind for t in timer_store.pending_for_lead(session, lead_id)}


def _new_lead(bot, lead: dict = LEAD) -> int:
    status, body = bot.post_lead(lead)
    assert status == 201
    bot.alert_for(body["id"])
    return body["id"]


def test_a_touch_logged_elsewhere_stops_the_first_touch_clock_and_updates_the_dm_in_place(bot):
    lead_id = _new_lead(bot)
    bot.clock.advance(4 * MINUTE)
    at = bot.clock.now() - MINUTE  # the sequencing tool reports the email a minute after it went out

    status, body = bot.post_json(
        f"/leads/{lead_id}/touches",
        {"channel": "email", "by": "U0SDR1", "at": at.isoformat(), "source": "Outreach", "external_id": "em-1"},
    )

    assert status == 201
    assert body | {"first_touch_at": None} == {
        "lead_id": lead_id,
        "logged": "first_touch",
        "by_owner": True,
        "duplicate": False,
        "stage": "attempting_contact",
        "touch_count": 1,
        "first_touch_at": None,
    }
    lead = _lead(bot, lead_id)
    assert (lead.first_touch_at, lead.first_touch_via, lead.first_touch_source) == (at, "email", "Outreach")
    alert = bot.alert_for(lead_id)
    bot.slack.wait_for(lambda: alert["edits"] >= 1)
    text = json.dumps(alert["blocks"])
    assert "Contacted* by <@U0SDR1> via Email, logged in Outreach" in text and "3m after assignment" in text
    assert _pending(bot, lead_id) == {"escalate"}  # first-touch timers gone; a worked lead's idle clock runs
    assert bot.sweep(30 * MINUTE).fired == 0  # no reminder, no breach
    [touch] = _touches(bot, lead_id)
    assert touch.data["first"] and touch.data["logged_in"] == "Outreach" and touch.data["seconds_to_first_touch"] == 180


@pytest.mark.parametrize("by", ["sam@acme.test", "SAM@ACME.TEST", "81234567", "U0SDR1"])
def test_the_person_may_be_named_by_slack_id_email_or_crm_owner_id(bot, by):
    lead_id = _new_lead(bot)

    status, body = bot.post_json(f"/leads/{lead_id}/touches", {"channel": "call", "by": by})

    assert (status, body["logged"], body["by_owner"]) == (201, "first_touch", True)
    assert _lead(bot, lead_id).first_touch_by == "U0SDR1"


def test_the_lead_may_be_named_by_email_or_by_its_crm_record(bot):
    lead_id = _new_lead(bot)
    other = _new_lead(bot, {**LEAD, "email": "priya@fabrikam.co.uk", "external_id": "hubspot:5501"})

    by_email = bot.post_json("/touches", {"email": " Jordan@Northwind.io", "channel": "call", "by": "U0SDR1"})
    by_crm_id = bot.post_json("/touches", {"crm_id": "5501", "channel": "call", "by": "U0MGR1"})

    assert by_email[0] == 201 and by_email[1]["lead_id"] == lead_id
    assert by_crm_id[0] == 201 and by_crm_id[1]["lead_id"] == other
    assert by_crm_id[1]["by_owner"]  # a manager logs for the owner, as with the Slack button
    assert _touches(bot, other)[0].data["on_behalf_of"] == _lead(bot, other).owner_id


def test_a_replayed_touch_is_logged_once(bot):
    lead_id = _new_lead(bot)
    touch = {"channel": "call", "by": "U0SDR1", "external_id": "call-77", "source": "aircall"}

    first = bot.post_json(f"/leads/{lead_id}/touches", touch)
    again = bot.post_json(f"/leads/{lead_id}/touches", touch)

    assert (first[0], again[0]) == (201, 200)
    assert again[1]["duplicate"] and again[1]["logged"] == "replay"
    assert len(_touches(bot, lead_id)) == 1 and _lead(bot, lead_id).touch_count == 1
    other_tool = bot.post_json(f"/leads/{lead_id}/touches", {**touch, "source": "dialpad"})  # ids are per source
    assert other_tool[0] == 201 and _lead(bot, lead_id).touch_count == 2


def test_a_colleagues_touch_is_activity_not_the_owners_first_touch(bot):
    lead_id = _new_lead(bot)
    bot.clock.advance(10 * MINUTE)

    colleague = bot.post_json(f"/leads/{lead_id}/touches", {"channel": "call", "by": "ana@acme.test"})
    outsider = bot.post_json(f"/leads/{lead_id}/touches", {"channel": "email", "by": "intern@acme.test"})

    assert colleague[0] == outsider[0] == 201
    assert [b["logged"] for _, b in (colleague, outsider)] == ["activity", "activity"]
    assert not colleague[1]["by_owner"] and not outsider[1]["by_owner"]
    lead = _lead(bot, lead_id)
    assert lead.first_touch_at is None and lead.touch_count == 0 and lead.last_activity_at == bot.clock.now()
    touches = _touches(bot, lead_id)
    assert [(t.actor, t.data["by_owner"]) for t in touches] == [("U0SDR2", False), ("outside", False)]
    assert touches[1].data["by"] == "intern@acme.test"
    # The owner's first-touch clock still runs: the reminder at 12m and the breach at 15m.
    assert bot.sweep(5 * MINUTE).outcomes == {"reminded": 1, "breached": 1}


def test_a_touch_reported_late_never_moves_the_last_activity_back(bot):
    lead_id = _new_lead(bot)
    bot.clock.advance(30 * MINUTE)
    bot.click_contacted(lead_id, "U0SDR1", via="call")
    clicked = bot.clock.now()
    eventually(lambda: _lead(bot, lead_id).first_touch_at)

    status, _ = bot.post_json(
        f"/leads/{lead_id}/touches",
        {"channel": "email", "by": "U0SDR1", "at": (clicked - 20 * MINUTE).isoformat()},
    )

    assert status == 201
    lead = _lead(bot, lead_id)
    assert lead.touch_count == 2 and lead.last_activity_at == clicked and lead.first_touch_via == "call"


def test_a_touch_on_a_closed_lead_is_logged_as_activity_and_starts_no_clock(bot):
    lead_id = _new_lead(bot)
    disqualify(
        bot.engine, bot.leadbot.config, bot.clock, lead_id=lead_id, actor_id="U0SDR1", reason="student", notes=""
    )

    status, body = bot.post_json(f"/leads/{lead_id}/touches", {"channel": "email", "by": "U0SDR1", "note": "bye"})

    assert (status, body["logged"]) == (201, "activity")
    assert _pending(bot, lead_id) == set()
    [touch] = _touches(bot, lead_id)
    assert touch.data["lead_closed"] and touch.data["note"] == "bye"


def _stored(bot) -> tuple[int, int, int]:
    with read_session(bot.engine) as session:
        return (
            len(session.exec(select(Activity).where(Activity.kind == "touch")).all()),
            len(session.exec(select(TouchReceipt)).all()),
            len(session.exec(select(OutboxMessage)).all()),
        )


@pytest.mark.parametrize(
    ("path", "body", "token", "status", "answer"),
    [
        ("/leads/{id}/touches", {"channel": "call", "by": "U0SDR1"}, None, 401, {"error": "unauthorized"}),
        ("/leads/{id}/touches", {"channel": "call", "by": "U0SDR1"}, "wrong", 401, {"error": "unauthorized"}),
        ("/leads/{id}/touches", '{"channel": "call",', "ok", 400, {"error": "malformed_json"}),
        ("/leads/{id}/touches", "[1, 2]", "ok", 422, {"error": "invalid_touch"}),
        ("/leads/{id}/touches", {"by": "U0SDR1"}, "ok", 422, {"fields": {"channel": "Field required"}}),
        ("/leads/{id}/touches", {"channel": "fax", "by": "U0SDR1"}, "ok", 422, {"error": "invalid_touch"}),
        ("/leads/{id}/touches", {"channel": "call"}, "ok", 422, {"fields": {"by": "Field required"}}),
        (
            "/leads/{id}/touches",
            {"channel": "call", "by": "U0SDR1", "at": "2026-11-23T14:05:00"},
            "ok",
            422,
            {"error": "invalid_touch"},
        ),  # fmt: skip
        (
            "/leads/{id}/touches",
            {"channel": "call", "by": "U0SDR1", "at": "2026-11-23T15:00:00Z"},
            "ok",
            422,
            {"error": "invalid_touch"},
        ),  # an hour ahead of the clock  # fmt: skip
        (
            "/leads/{id}/touches",
            {"channel": "call", "by": "U0SDR1", "at": "2026-11-22T14:00:00Z"},
            "ok",
            422,
            {"error": "invalid_touch"},
        ),  # the day before the lead came in  # fmt: skip
        ("/leads/999999/touches", {"channel": "call", "by": "U0SDR1"}, "ok", 404, {"error": "unknown_lead"}),
        (
            "/touches",
            {"email": "nobody@nowhere.io", "channel": "call", "by": "U0SDR1"},
            "ok",
            404,
            {"error": "unknown_lead"},
        ),  # fmt: skip
        ("/touches", {"channel": "call", "by": "U0SDR1"}, "ok", 422, {"error": "invalid_touch"}),
    ],
    ids=[
        "no-token",
        "bad-token",
        "malformed",
        "not-an-object",
        "no-channel",
        "bad-channel",
        "no-by",
        "naive-time",
        "future",
        "before-the-lead",
        "unknown-id",
        "unknown-email",
        "no-lead-named",
    ],  # fmt: skip
)
def test_bad_touches_get_a_clear_answer_and_change_nothing(bot, path, body, token, status, answer):
    lead_id = _new_lead(bot)
    before = _stored(bot)

    got = bot.post_json(path.format(id=lead_id), body, token=INTAKE_TOKEN if token == "ok" else token)

    assert got[0] == status
    assert got[1] | answer == got[1], got[1]  # the answer holds these keys and values
    assert _stored(bot) == before and _lead(bot, lead_id).touch_count == 0


def test_touches_at_the_same_moment_each_count_once_and_one_is_the_first(bot):
    """Ten touches at once, two of them the same replayed event: on PostgreSQL each runs under the lead's lock."""
    lead_id = _new_lead(bot)
    bodies = [{"channel": "call", "by": "U0SDR1", "external_id": f"c{n}"} for n in range(8)]
    bodies += [{"channel": "email", "by": "U0SDR1", "external_id": "same"}] * 2
    answers: list[tuple[int, dict]] = []
    start = threading.Barrier(len(bodies))

    def send(body):
        start.wait()
        answers.append(bot.post_json(f"/leads/{lead_id}/touches", body))

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(status for status, _ in answers) == [200] + [201] * 9
    assert [b["logged"] for _, b in answers].count("first_touch") == 1
    lead = _lead(bot, lead_id)
    touches = _touches(bot, lead_id)
    assert lead.touch_count == 9 and len(touches) == 9
    assert sorted(t.data["number"] for t in touches) == list(range(1, 10))
