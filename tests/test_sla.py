"""The speed-to-lead ladder, driven by explicit sweeps at chosen moments (no sleeping)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from sqlmodel import select

from bot.devtools.standin.requests import button_action
from bot.sla.calendars import calendar_for
from bot.sla.clocks import start_ae_response_clock
from store import leads as lead_store
from store import timers as timer_store
from store.db import read_session, write_session
from store.models import Lead, Stage, Timer
from tests.conftest import MINIMAL_CONFIG, eventually, make_config

LEAD = {"email": "jordan@northwind.io", "first_name": "Jordan", "last_name": "Blake", "company": "Northwind"}
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


def _kinds(bot, lead_id: int) -> list[str]:
    with read_session(bot.engine) as session:
        return [a.kind for a in lead_store.activities(session, lead_id)]


def _lead(bot, lead_id: int) -> Lead:
    with read_session(bot.engine) as session:
        return lead_store.get_lead(session, lead_id)


def _escalations(bot) -> list[dict]:
    return [m for m in bot.slack.messages_in("C0ESCALATE") if not m["thread_ts"]]


def test_a_reminder_before_the_deadline_then_a_breach_each_once(bot):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])

    assert bot.sweep(11 * MINUTE).fired == 0
    assert bot.sweep(1 * MINUTE).outcomes == {"reminded": 1}  # 80% of 15 minutes
    reminder = bot.thread_replies(body["id"], 1)[0]
    assert "First touch on Jordan Blake (Northwind) is due in 3m" in reminder["text"]

    assert bot.sweep(3 * MINUTE).outcomes == {"breached": 1}
    replies = bot.thread_replies(body["id"], 2)
    assert "overdue: the 15m SLA has passed" in replies[1]["text"]
    assert bot.sweep(10 * MINUTE).outcomes.get("breached") is None  # once
    kinds = _kinds(bot, body["id"])
    assert kinds.count("reminded") == 1 and kinds.count("sla_breached") == 1


def test_a_hot_lead_runs_on_the_five_minute_clock(bot):
    _, body = bot.post_lead({**LEAD, "demo_request": True})
    bot.alert_for(body["id"])

    assert bot.sweep(4 * MINUTE).outcomes == {"reminded": 1}
    assert bot.sweep(1 * MINUTE).outcomes == {"breached": 1}


def test_a_first_touch_in_time_stops_the_first_touch_clock(bot):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])
    bot.clock.advance(5 * MINUTE)
    bot.click_contacted(body["id"], "U0SDR1")
    eventually(lambda: _lead(bot, body["id"]).first_touch_at)

    result = bot.sweep(30 * MINUTE)

    assert result.fired == 0
    assert "sla_breached" not in _kinds(bot, body["id"])


def test_two_hours_without_activity_escalate_to_managers_with_buttons_once_per_idle_period(bot):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])
    bot.sweep(20 * MINUTE)  # reminder and breach

    assert bot.sweep(100 * MINUTE).outcomes == {"escalated": 1}
    assert bot.sweep(30 * MINUTE).fired == 0

    escalation = bot.channel_messages("C0ESCALATE", 1)[0]
    assert "No activity for 2h on Jordan Blake (Northwind), owned by <@U0SDR1>" in escalation["text"]
    buttons = [e["action_id"] for b in escalation["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["escalation.reassign_now", "escalation.take_it"]
    assert _kinds(bot, body["id"]).count("escalated") == 1


def _sla_with(**changes) -> dict:
    return {**yaml.safe_load(MINIMAL_CONFIG)["sla"], **changes}


@pytest.mark.parametrize(
    "bot_config", [make_config(sla=_sla_with(stages={"attempting_contact": {"escalate_after": "2h"}}))]
)
def test_activity_restarts_the_idle_clocks(bot):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])
    bot.clock.advance(HOUR)
    bot.click_contacted(body["id"], "U0SDR1")
    eventually(lambda: _lead(bot, body["id"]).first_touch_at)

    assert bot.sweep(HOUR + 59 * MINUTE).fired == 0  # 2h59m after arrival, 1h59m after the touch
    assert bot.sweep(MINUTE).outcomes == {"escalated": 1}


def _pending(bot, lead_id: int) -> dict[str, datetime]:
    with read_session(bot.engine) as session:
        return {t.kind: t.due_at.astimezone(UTC) for t in timer_store.pending_for_lead(session, lead_id)}


def test_a_worked_lead_is_escalated_after_two_working_days_of_silence_and_never_taken_away(bot):
    """The defaults: a cadence spaces its steps days apart, so 2h / 24h apply to untouched leads only."""
    _, body = bot.post_lead(LEAD)  # Monday 09:00 in New York
    bot.alert_for(body["id"])
    bot.clock.advance(HOUR)
    bot.click_contacted(body["id"], "U0SDR1")
    eventually(lambda: _lead(bot, body["id"]).first_touch_at)

    assert set(_pending(bot, body["id"])) == {"escalate"}  # no reassignment timer at all
    assert bot.sweep(2 * HOUR).fired == 0 and bot.sweep(24 * HOUR).fired == 0  # the playbook's rungs: not here
    bot.clock.set(datetime(2026, 11, 25, 15, 0, tzinfo=UTC) - MINUTE)  # Wednesday 10:00 in New York, a minute before
    assert bot.sweep().fired == 0
    assert bot.sweep(MINUTE).outcomes == {"escalated": 1}
    assert bot.sweep(7 * 24 * HOUR).fired == 0  # once per idle period, and never reassigned
    assert _lead(bot, body["id"]).owner_id == "U0SDR1"


def test_working_days_skip_the_weekend(bot):
    bot.clock.set(datetime(2026, 11, 27, 20, 0, tzinfo=UTC))  # Friday 15:00 in New York
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])
    bot.click_contacted(body["id"], "U0SDR1")
    eventually(lambda: _lead(bot, body["id"]).first_touch_at)

    assert _pending(bot, body["id"]) == {"escalate": datetime(2026, 12, 1, 20, 0, tzinfo=UTC)}  # Tuesday 15:00


@pytest.mark.parametrize(
    "bot_config",
    [make_config(sla=_sla_with(stages={"attempting_contact": {"escalate_after": "4h", "reassign_after": "2d"}}))],
)
def test_a_stage_can_be_given_its_own_limits_reassignment_included(bot):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])
    bot.click_contacted(body["id"], "U0SDR1")
    eventually(lambda: _lead(bot, body["id"]).first_touch_at)

    assert bot.sweep(3 * HOUR + 59 * MINUTE).fired == 0
    assert bot.sweep(MINUTE).outcomes == {"escalated": 1}
    assert bot.sweep(44 * HOUR).outcomes == {"reassigned": 1}
    assert _lead(bot, body["id"]).owner_id == "U0SDR2"


def test_with_business_hours_working_days_count_from_the_next_opening():
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["sla"]["business_hours"] = {"open": "09:00", "close": "17:00", "holidays": "US"}
    calendar = calendar_for(make_config(**data), "U0SDR1")
    wednesday_night = datetime(2026, 11, 25, 23, 30, tzinfo=NEW_YORK)  # Thanksgiving and a weekend follow

    due = calendar.add_working_days(wednesday_night, 2)

    assert due == datetime(2026, 12, 1, 9, 0, tzinfo=NEW_YORK)  # from Friday's opening: Monday, Tuesday


def test_after_24_hours_the_lead_goes_to_the_next_sdr_and_everyone_is_told(bot):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])

    result = bot.sweep(24 * HOUR)

    assert result.outcomes["reassigned"] == 1
    lead = _lead(bot, body["id"])
    assert lead.owner_id == "U0SDR2" and lead.reassign_count == 1 and lead.assigned_at == bot.clock.now()
    new_alert = bot.channel_messages("D0SDR2", 1)[0]
    assert "Jordan Blake" in new_alert["text"]
    told_old = bot.thread_replies(body["id"], 3)  # the reminder, the breach, then the reassignment
    assert any("reassigned from you to <@U0SDR2>" in m["text"] for m in told_old)
    assert any("from <@U0SDR1> to <@U0SDR2>" in m["text"] for m in bot.channel_messages("C0ESCALATE", 2))
    # The clocks restart for the new owner: first touch 15m from now, escalation 2h from now.
    assert lead.first_touch_due_at == bot.clock.now() + 15 * MINUTE
    with read_session(bot.engine) as session:
        pending = {t.kind: t.due_at for t in timer_store.pending_for_lead(session, body["id"])}
    assert pending["escalate"] == bot.clock.now() + 2 * HOUR
    assert pending["reassign"] == bot.clock.now() + 24 * HOUR


def test_after_max_reassignments_the_lead_goes_to_the_fallback(bot):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])

    owners = []
    for _ in range(3):
        bot.sweep(24 * HOUR)
        owners.append(_lead(bot, body["id"]).owner_id)

    assert owners == ["U0SDR2", "U0SDR1", "U0MGR1"]  # never the same one twice in a row, then the fallback
    assert "fallback owner (Morgan Lee)" in _lead(bot, body["id"]).routing_reason
    bot.channel_messages("D0MGR1", 1)

    # At the fallback it stays: another idle day escalates it to the managers instead of alerting the fallback again.
    result = bot.sweep(24 * HOUR)

    assert (result.outcomes["reassigned"], result.outcomes["escalated"]) == (0, 2)
    lead = _lead(bot, body["id"])
    assert (lead.owner_id, lead.reassign_count) == ("U0MGR1", 3)
    assert _kinds(bot, body["id"]).count("reassigned") == 3
    last = bot.channel_messages("C0ESCALATE", 8)[-1]
    assert "with the fallback owner and will not be moved again by itself" in last["text"]
    assert any(b["type"] == "actions" for b in last["blocks"]), "a manager can still take it or reassign it"
    assert len(bot.channel_messages("D0MGR1", 1)) == 1, "no second alert to the fallback"
    assert bot.sweep(72 * HOUR).fired == 0, "and nothing fires again until someone acts"


@pytest.fixture
def bot_config(request):
    if request.node.get_closest_marker("one_sdr"):
        data = yaml.safe_load(MINIMAL_CONFIG)
        data["team"][1]["active"] = False
        return make_config(**data)
    if request.node.get_closest_marker("business_hours"):
        data = yaml.safe_load(MINIMAL_CONFIG)
        data["sla"]["business_hours"] = {"open": "09:00", "close": "18:00", "holidays": "US"}
        return make_config(**data)
    return make_config()


@pytest.mark.one_sdr
def test_reassignment_never_gives_the_lead_back_to_the_same_sdr(bot):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])

    bot.sweep(24 * HOUR)

    assert _lead(bot, body["id"]).owner_id == "U0MGR1"


NEW_YORK = make_config().tz


@pytest.mark.business_hours
@pytest.mark.parametrize(
    ("arrives", "due"),
    [
        (datetime(2026, 11, 20, 17, 55, tzinfo=NEW_YORK), "Mon Nov 23 09:10 EST"),  # over a weekend
        (datetime(2026, 11, 25, 17, 55, tzinfo=NEW_YORK), "Fri Nov 27 09:10 EST"),  # over Thanksgiving
        (datetime(2026, 10, 30, 17, 55, tzinfo=NEW_YORK), "Mon Nov 02 09:10 EST"),  # over the end of DST
    ],
    ids=["weekend", "holiday", "dst-change"],
)
def test_with_business_hours_an_evening_lead_is_due_after_the_next_opening(bot, arrives, due):
    bot.clock.set(arrives.astimezone(UTC))

    _, body = bot.post_lead(LEAD)

    lead = _lead(bot, body["id"])
    assert lead.first_touch_due_at.astimezone(NEW_YORK).strftime("%a %b %d %H:%M %Z") == due
    assert bot.sweep(24 * HOUR).fired == 0  # the next evening: the clock is stopped while closed
    bot.clock.set(lead.first_touch_due_at - MINUTE)
    assert bot.sweep().outcomes == {"reminded": 1}  # 12 minutes of open time: 5 before closing, 7 after opening
    assert bot.sweep(MINUTE).outcomes == {"breached": 1}
    with read_session(bot.engine) as session:
        escalate = next(t for t in timer_store.pending_for_lead(session, body["id"]) if t.kind == "escalate")
    assert escalate.due_at.astimezone(NEW_YORK).strftime("%H:%M") == "10:55"  # 2h of open time after arrival


def test_each_rep_can_keep_business_hours_in_their_own_time_zone():
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["team"][1]["timezone"] = "Europe/Lisbon"
    data["sla"]["business_hours"] = {"open": "09:00", "close": "18:00"}
    config = make_config(**data)
    monday_0800_utc = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    ana = calendar_for(config, "U0SDR2").add(monday_0800_utc, 15 * MINUTE)  # Lisbon opens at 09:00 UTC
    sam = calendar_for(config, "U0SDR1").add(monday_0800_utc, 15 * MINUTE)  # New York opens at 14:00 UTC

    assert (ana, sam) == (datetime(2026, 11, 23, 9, 15, tzinfo=UTC), datetime(2026, 11, 23, 14, 15, tzinfo=UTC))


def test_a_closed_lead_has_no_timers_that_fire(bot):
    _, body = bot.post_lead(LEAD)
    with write_session(bot.engine) as session:
        lead = lead_store.get_lead(session, body["id"])
        lead.stage, lead.is_open = Stage.DISQUALIFIED, False
        session.add(lead)

    result = bot.sweep(48 * HOUR)

    assert set(result.outcomes) == {"skipped: lead closed"}
    assert _escalations(bot) == []


def test_the_ae_response_clock_reminds_then_escalates(bot):
    _, body = bot.post_lead(LEAD)
    with write_session(bot.engine) as session:
        lead = lead_store.get_lead(session, body["id"])
        lead.stage, lead.ae_id = Stage.SQL, "U0AE1"
        session.add(lead)
        start_ae_response_clock(session, lead, bot.leadbot.config, bot.clock.now())

    outcomes = bot.sweep(3 * HOUR + 12 * MINUTE).outcomes  # 80% of 4h
    assert outcomes["ae_reminded"] == 1
    assert bot.sweep(48 * MINUTE).outcomes["ae_escalated"] == 1
    assert "waiting for you to accept or reject" in bot.channel_messages("D0AE1", 1)[0]["text"]
    assert bot.slack.wait_for(
        lambda: [m for m in _escalations(bot) if "<@U0AE1> has not accepted or rejected the SQL" in m["text"]]
    )


def _escalate(bot) -> tuple[int, dict]:
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])
    bot.sweep(2 * HOUR)
    escalation = bot.channel_messages("C0ESCALATE", 1)[0]
    eventually(lambda: _lead(bot, body["id"]).escalation_ts)
    return body["id"], escalation


def _button(escalation: dict, action_id: str) -> dict:
    element = next(
        e for b in escalation["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id
    )
    return button_action(action_id, f"escalation:{json.loads(element['value'])['lead_id']}", element["value"])


def test_reassign_now_asks_for_a_confirmation_first(bot):
    _, escalation = _escalate(bot)
    reassign = next(
        e
        for b in escalation["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "escalation.reassign_now"
    )
    confirm = reassign["confirm"]
    assert confirm["title"]["text"] == "Reassign this lead?" and "<@U0SDR1> is told" in confirm["text"]["text"]
    assert (confirm["confirm"]["text"], confirm["deny"]["text"]) == ("Reassign", "Cancel")


def test_take_it_makes_the_clicking_rep_the_owner_and_updates_the_escalation(bot):
    lead_id, escalation = _escalate(bot)

    bot.send_action("U0SDR2", _button(escalation, "escalation.take_it"), escalation)

    bot.slack.wait_for(lambda: escalation["edits"] == 1)
    assert _lead(bot, lead_id).owner_id == "U0SDR2"
    assert "Now owned by <@U0SDR2>" in json.dumps(escalation["blocks"])
    assert not [b for b in escalation["blocks"] if b["type"] == "actions"]
    assert "reassigned" in _kinds(bot, lead_id)


def test_reassign_now_is_for_managers_and_a_late_click_changes_nothing(bot):
    lead_id, escalation = _escalate(bot)
    stale_take_it = _button(escalation, "escalation.take_it")  # as a second manager still sees it

    bot.send_action("U0SDR2", _button(escalation, "escalation.reassign_now"), escalation)
    refusal = bot.slack.wait_for(lambda: bot.ephemeral_for("U0SDR2"))
    assert "Only a manager can reassign" in refusal[0]["text"]
    assert _lead(bot, lead_id).owner_id == "U0SDR1"

    bot.send_action("U0MGR1", _button(escalation, "escalation.reassign_now"), escalation)
    bot.slack.wait_for(lambda: escalation["edits"] == 1)
    assert _lead(bot, lead_id).owner_id == "U0SDR2"

    bot.send_action("U0MGR1", stale_take_it, escalation)
    late = bot.slack.wait_for(lambda: bot.ephemeral_for("U0MGR1"))
    assert "Already handled: the lead is now with <@U0SDR2>" in late[0]["text"]
    assert _lead(bot, lead_id).owner_id == "U0SDR2"
    assert _kinds(bot, lead_id).count("reassigned") == 1


def test_every_timer_is_a_row_with_a_state(bot):
    _, body = bot.post_lead(LEAD)
    bot.sweep(13 * MINUTE)
    with read_session(bot.engine) as session:
        rows = {t.kind: t.state for t in session.exec(select(Timer).where(Timer.lead_id == body["id"])).all()}
    assert rows == {
        "first_touch_reminder": "fired",
        "first_touch_due": "pending",
        "escalate": "pending",
        "reassign": "pending",
    }


@pytest.mark.one_sdr
def test_reassign_now_with_nobody_else_available_leaves_the_lead_where_it_is_and_says_so(bot):
    from store import routing as rotation_store

    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])
    bot.sweep(24 * HOUR)  # the only SDR let it sit: the fallback owner has it now
    assert _lead(bot, body["id"]).owner_id == "U0MGR1"
    with write_session(bot.engine) as session:
        rotation_store.set_away(session, "U0SDR1", away=True, until=None, now=bot.clock.now(), by="U0SDR1")
    bot.sweep(2 * HOUR)
    # The first escalation, the reassignment notice, then this one, about the fallback's idle period.
    escalation = bot.channel_messages("C0ESCALATE", 3)[2]
    assert "owned by <@U0MGR1>" in escalation["text"]

    bot.send_action("U0MGR1", _button(escalation, "escalation.reassign_now"), escalation)

    reply = bot.slack.wait_for(lambda: bot.ephemeral_for("U0MGR1"))
    assert reply[0]["text"] == "No other SDR is available right now, so the lead stays with <@U0MGR1>."
    assert _lead(bot, body["id"]).owner_id == "U0MGR1" and _kinds(bot, body["id"]).count("reassigned") == 1
