"""Qualification and the SDR → AE handoff at the wire level: signed clicks, modals and submissions."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import yaml
from sqlmodel import select

from bot.devtools.standin.requests import button_action, send_view_submission
from store import leads as lead_store
from store import timers as timer_store
from store.db import read_session
from store.models import Lead, Opportunity
from tests.conftest import MINIMAL_CONFIG, SIGNING_SECRET, eventually, make_config

LEAD = {
    "email": "jordan@northwind.io",
    "first_name": "Jordan",
    "last_name": "Blake",
    "company": "Northwind",
    "title": "VP Engineering",
    "source": "Website",
}
QUALIFIED = {
    "notes": "Wants routing live before Q1; <!channel> ping the team",
    "need": "Leads go cold",
    "budget": "20-40k",
    "timeline": "Q1",
    "decision_maker": "VP Sales",
}


def _lead(bot, lead_id: int) -> Lead:
    with read_session(bot.engine) as session:
        return lead_store.get_lead(session, lead_id)


def _kinds(bot, lead_id: int) -> list[str]:
    with read_session(bot.engine) as session:
        return [a.kind for a in lead_store.activities(session, lead_id)]


def _opportunities(bot) -> list[Opportunity]:
    with read_session(bot.engine) as session:
        return list(session.exec(select(Opportunity)).all())


def _press(bot, user_id: str, message: dict, action_id: str) -> int:
    block = next(
        b
        for b in message["blocks"]
        if b["type"] == "actions" and any(e["action_id"] == action_id for e in b["elements"])
    )
    element = next(e for e in block["elements"] if e["action_id"] == action_id)
    return bot.send_action(user_id, button_action(action_id, block["block_id"], element["value"]), message)


def _modal(bot, count: int = 1) -> dict:
    return bot.slack.wait_for(lambda: len(bot.slack.opened_views) >= count and bot.slack.opened_views[-1])["view"]


def _submit(bot, user_id: str, view: dict, values: dict) -> tuple[int, dict]:
    status, raw = send_view_submission(
        url=bot.url, signing_secret=SIGNING_SECRET, user_id=user_id, view=view, values=values
    )
    return status, (json.loads(raw) if raw else {})


def _contacted(bot) -> tuple[int, dict]:
    _, body = bot.post_lead(LEAD)
    alert = bot.alert_for(body["id"])
    bot.click_contacted(body["id"], "U0SDR1", via="call")
    # The touch itself, not any redraw (with a CRM, the DM is also redrawn for its "Open in" link).
    bot.slack.wait_for(lambda: "Log another touch" in json.dumps(alert["blocks"]))
    return body["id"], alert


def _handoff(bot, lead_id: int) -> dict:
    return bot.slack.wait_for(lambda: next((m for m in bot.slack.messages_in("C0HANDOFF") if not m["thread_ts"]), None))


def _handoff_messages(bot) -> list[dict]:
    return bot.slack.wait_for(
        lambda: len(m := [x for x in bot.slack.messages_in("C0HANDOFF") if not x["thread_ts"]]) >= 2 and m
    )


def _qualified(bot) -> tuple[int, dict, dict]:
    lead_id, alert = _contacted(bot)
    _press(bot, "U0SDR1", alert, "lead.qualify")
    status, answer = _submit(bot, "U0SDR1", _modal(bot), QUALIFIED)
    assert status == 200 and answer == {}
    return lead_id, alert, _handoff(bot, lead_id)


def test_engaged_moves_the_stage_and_redraws_the_dm_with_only_sensible_actions(bot):
    lead_id, alert = _contacted(bot)

    assert _press(bot, "U0SDR1", alert, "lead.engaged") == 200

    bot.slack.wait_for(lambda: alert["edits"] == 2)
    assert _lead(bot, lead_id).stage == "engaged"
    controls = [e["action_id"] for b in alert["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert controls == ["lead.contacted", "lead.qualify", "lead.disqualify"]
    assert "Stage: Engaged" in json.dumps(alert["blocks"])


def test_only_the_owner_or_a_manager_may_use_the_sdr_buttons(bot):
    lead_id, alert = _contacted(bot)

    _press(bot, "U0SDR2", alert, "lead.engaged")
    _press(bot, "U0AE1", alert, "lead.qualify")

    replies = bot.slack.wait_for(
        lambda: (
            bot.ephemeral_for("U0SDR2")
            and bot.ephemeral_for("U0AE1")
            and bot.ephemeral_for("U0SDR2") + bot.ephemeral_for("U0AE1")
        )
    )
    assert all("Only <@U0SDR1> (the lead's owner) or a manager can do this" in r["text"] for r in replies)
    assert bot.slack.opened_views == [] and _lead(bot, lead_id).stage == "attempting_contact"


def test_qualify_opens_a_modal_with_the_required_fields(bot):
    _, alert = _contacted(bot)

    _press(bot, "U0SDR1", alert, "lead.qualify")

    view = _modal(bot)
    assert view["callback_id"] == "lead.qualify_modal"
    inputs = {b["block_id"]: b.get("optional", False) for b in view["blocks"] if b["type"] == "input"}
    assert inputs == {"notes": False, "need": False, "budget": False, "timeline": False, "decision_maker": False}


@pytest.mark.parametrize("empty", ["notes", "budget"])
def test_submitting_with_a_required_field_empty_shows_the_error_there_and_changes_nothing(bot, empty):
    lead_id, alert = _contacted(bot)
    _press(bot, "U0SDR1", alert, "lead.qualify")

    status, answer = _submit(bot, "U0SDR1", _modal(bot), {**QUALIFIED, empty: "  "})

    assert status == 200
    assert answer["response_action"] == "errors" and list(answer["errors"]) == [empty]
    assert _lead(bot, lead_id).stage == "attempting_contact"
    assert bot.slack.messages_in("C0HANDOFF") == []


def test_qualify_hands_the_sql_to_an_ae_with_everything_they_need(bot):
    lead_id, alert, handoff = _qualified(bot)

    lead = _lead(bot, lead_id)
    assert (lead.stage, lead.lifecycle_stage, lead.ae_id) == ("sql", "sql", "U0AE1")
    assert lead.qualification["notes"].startswith("Wants routing live")
    shown = json.dumps(handoff["blocks"])
    for fact in (
        "<@U0AE1>, please accept or reject this SQL from <@U0SDR1>",
        "Northwind",
        "20-40k",
        "Q1",
        "VP Sales",
        "Leads go cold",
        "round robin over active AEs",
    ):
        assert fact in shown, fact
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown
    buttons = [e["action_id"] for b in handoff["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["handoff.accept", "handoff.reject"]
    bot.slack.wait_for(lambda: alert["edits"] >= 2)
    assert "handed to <@U0AE1>" in json.dumps(alert["blocks"])
    assert not [b for b in alert["blocks"] if b["type"] == "actions"]
    with read_session(bot.engine) as session:
        pending = {t.kind for t in timer_store.pending_for_lead(session, lead_id)}
    assert pending == {"ae_reminder", "ae_escalate"}  # the SDR's clocks stop, the AE's starts
    assert "handed_off" in _kinds(bot, lead_id)


def test_accept_creates_the_opportunity_updates_the_message_and_tells_the_sdr(bot):
    lead_id, _, handoff = _qualified(bot)
    bot.clock.advance(timedelta(minutes=30))

    assert _press(bot, "U0AE1", handoff, "handoff.accept") == 200

    bot.slack.wait_for(lambda: handoff["edits"] == 1)
    [opportunity] = _opportunities(bot)
    assert (opportunity.lead_id, opportunity.ae_id, opportunity.sdr_id, opportunity.source) == (
        lead_id,
        "U0AE1",
        "U0SDR1",
        "Website",
    )
    assert opportunity.company == "Northwind" and opportunity.created_at == bot.clock.now()
    assert opportunity.fields["budget"] == "20-40k" and opportunity.fields["notes"].startswith("Wants")
    lead = _lead(bot, lead_id)
    assert (lead.stage, lead.is_open, lead.lifecycle_stage) == ("accepted", False, "opportunity")
    assert not [b for b in handoff["blocks"] if b["type"] == "actions"]
    assert "Accepted" in json.dumps(handoff["blocks"])
    reply = bot.slack.wait_for(lambda: [m for m in bot.slack.messages_in("C0HANDOFF") if m["thread_ts"]])
    assert "<@U0SDR1>: <@U0AE1> accepted" in reply[0]["text"] and reply[0]["thread_ts"] == handoff["ts"]
    with read_session(bot.engine) as session:
        assert timer_store.pending_for_lead(session, lead_id) == []


def test_anyone_but_the_ae_or_a_manager_is_told_politely(bot):
    lead_id, _, handoff = _qualified(bot)

    _press(bot, "U0SDR1", handoff, "handoff.accept")
    _press(bot, "U0SDR2", handoff, "handoff.reject")

    replies = bot.slack.wait_for(
        lambda: (
            bot.ephemeral_for("U0SDR1")
            and bot.ephemeral_for("U0SDR2")
            and bot.ephemeral_for("U0SDR1") + bot.ephemeral_for("U0SDR2")
        )
    )
    assert all("Only <@U0AE1> (the assigned AE) or a manager can accept or reject" in r["text"] for r in replies)
    assert _lead(bot, lead_id).stage == "sql" and _opportunities(bot) == []


def test_reject_sends_the_lead_back_to_its_sdr_with_the_reason(bot):
    lead_id, alert, handoff = _qualified(bot)
    _press(bot, "U0AE1", handoff, "handoff.reject")
    view = _modal(bot, 2)
    assert view["callback_id"] == "handoff.reject_modal"

    status, answer = _submit(bot, "U0AE1", view, {"reason": "bad_timing", "notes": "Budget frozen until April"})

    assert (status, answer) == (200, {})
    lead = _lead(bot, lead_id)
    assert lead.stage == "engaged" and lead.is_open and lead.outcome["code"] == "bad_timing"
    bot.slack.wait_for(lambda: "Sent back" in json.dumps(alert["blocks"]))
    assert "Budget frozen until April" in json.dumps(alert["blocks"])
    reply = bot.slack.wait_for(lambda: [m for m in bot.slack.messages_in("C0HANDOFF") if m["thread_ts"]])
    assert "sent Jordan Blake (Northwind) back (Bad timing): Budget frozen until April" in reply[0]["text"]
    with read_session(bot.engine) as session:
        pending = {t.kind for t in timer_store.pending_for_lead(session, lead_id)}
    # The SDR's idle clocks run again (an Engaged lead's: escalated after 2 working days, never reassigned),
    # the AE's stopped.
    assert pending == {"escalate"}


def test_reject_needs_a_reason(bot):
    lead_id, _, handoff = _qualified(bot)
    _press(bot, "U0AE1", handoff, "handoff.reject")

    status, answer = _submit(bot, "U0AE1", _modal(bot, 2), {"notes": "no reason picked"})

    assert answer["response_action"] == "errors" and "reason" in answer["errors"]
    assert _lead(bot, lead_id).stage == "sql"


def test_a_late_click_changes_nothing_and_says_what_happened(bot):
    lead_id, _, handoff = _qualified(bot)
    stale = json.loads(json.dumps(handoff))  # the message as a second viewer still has it
    _press(bot, "U0AE1", handoff, "handoff.accept")
    bot.slack.wait_for(lambda: handoff["edits"] == 1)

    _press(bot, "U0MGR1", stale, "handoff.reject")

    reply = bot.slack.wait_for(lambda: bot.ephemeral_for("U0MGR1"))
    assert "Nothing was changed: <@U0AE1> already accepted it" in reply[0]["text"]
    assert len(_opportunities(bot)) == 1 and "rejected" not in _kinds(bot, lead_id)


def test_two_accept_clicks_at_once_create_exactly_one_opportunity(bot):
    lead_id, _, handoff = _qualified(bot)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda who: _press(bot, who, handoff, "handoff.accept"), ["U0AE1", "U0MGR1"] * 2))

    eventually(lambda: len(bot.ephemeral_for("U0AE1") + bot.ephemeral_for("U0MGR1")) == 3)
    assert len(_opportunities(bot)) == 1
    assert _kinds(bot, lead_id).count("accepted") == 1


def test_disqualify_closes_the_lead_and_stops_its_clocks(bot):
    lead_id, alert = _contacted(bot)
    _press(bot, "U0SDR1", alert, "lead.disqualify")
    view = _modal(bot)

    status, answer = _submit(bot, "U0SDR1", view, {"reason": "other", "notes": ""})
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["notes"]

    status, answer = _submit(bot, "U0SDR1", view, {"reason": "student", "notes": "Thesis research"})

    assert (status, answer) == (200, {})
    lead = _lead(bot, lead_id)
    assert (lead.stage, lead.is_open, lead.outcome["code"]) == ("disqualified", False, "student")
    with read_session(bot.engine) as session:
        assert timer_store.pending_for_lead(session, lead_id) == []
    bot.slack.wait_for(lambda: "Disqualified" in json.dumps(alert["blocks"]))
    assert not [b for b in alert["blocks"] if b["type"] == "actions"]
    assert bot.sweep(timedelta(days=3)).fired == 0


def test_a_later_sql_from_the_same_company_goes_to_the_ae_who_owns_its_opportunity(bot):
    first_id, _, handoff = _qualified(bot)
    _press(bot, "U0AE1", handoff, "handoff.accept")
    eventually(lambda: _opportunities(bot))

    _, body = bot.post_lead({**LEAD, "email": "sam@northwind.io", "first_name": "Sam"})
    assert body["owner"] == "U0SDR1" and body["routing_reason"].startswith("Existing owner: Sam Rivera")
    alert = bot.alert_for(body["id"])
    bot.click_contacted(body["id"], "U0SDR1", via="email")
    bot.slack.wait_for(lambda: alert["edits"] >= 1)
    _press(bot, "U0SDR1", alert, "lead.qualify")
    _submit(bot, "U0SDR1", _modal(bot, 2), QUALIFIED)

    second = _lead(bot, body["id"])
    assert second.ae_id == "U0AE1" and second.id != first_id
    assert "owns the earlier opportunity at northwind.io" in json.dumps(_handoff_messages(bot)[-1]["blocks"])


@pytest.fixture
def bot_config(request):
    data = yaml.safe_load(MINIMAL_CONFIG)
    if request.node.get_closest_marker("opportunity_fields"):
        # `budget` comes from the qualification, so the Accept modal asks only for `amount`.
        data["opportunity"] = {
            "required_fields": [{"id": "budget", "label": "Budget"}, {"id": "amount", "label": "Amount"}]
        }
    if request.node.get_closest_marker("two_aes"):
        data["team"].insert(3, {"slack_id": "U0AE2", "name": "Bo Chen", "role": "ae"})
    return make_config(**data)


@pytest.mark.opportunity_fields
def test_accept_asks_for_the_opportunitys_required_fields_when_they_are_unknown(bot):
    lead_id, _, handoff = _qualified(bot)

    _press(bot, "U0AE1", handoff, "handoff.accept")
    view = _modal(bot, 2)
    assert view["callback_id"] == "handoff.accept_modal"
    status, answer = _submit(bot, "U0AE1", view, {"amount": ""})
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["amount"]
    assert _opportunities(bot) == []

    status, answer = _submit(bot, "U0AE1", view, {"amount": "36000"})

    assert (status, answer) == (200, {})
    [opportunity] = _opportunities(bot)
    assert opportunity.fields["amount"] == "36000"


@pytest.mark.opportunity_fields
def test_an_accept_modal_that_can_no_longer_succeed_says_why_in_the_modal_not_on_a_missing_field(bot):
    lead_id, _, handoff = _qualified(bot)
    _press(bot, "U0AE1", handoff, "handoff.accept")
    view = _modal(bot, 2)
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["amount"]
    _press(bot, "U0MGR1", handoff, "handoff.reject")  # meanwhile a manager sends the SQL back
    status, answer = _submit(bot, "U0MGR1", _modal(bot, 3), {"reason": "bad_timing", "notes": ""})
    assert (status, answer) == (200, {})

    status, answer = _submit(bot, "U0AE1", view, {"amount": "36000"})

    # Slack shows "We had some trouble connecting" for errors on a block the view does not have.
    assert answer["response_action"] == "update"
    assert "Nothing was changed: it is now Engaged" in json.dumps(answer["view"]["blocks"])
    assert _opportunities(bot) == []


@pytest.mark.two_aes
def test_sqls_go_round_robin_over_active_aes(bot):
    aes = []
    for i in range(3):
        _, body = bot.post_lead({**LEAD, "email": f"p{i}@company{i}.com"})
        alert = bot.alert_for(body["id"])
        owner = _lead(bot, body["id"]).owner_id
        bot.click_contacted(body["id"], owner)
        bot.slack.wait_for(lambda a=alert: a["edits"] >= 1)
        _press(bot, owner, alert, "lead.qualify")
        _submit(bot, owner, _modal(bot, i + 1), QUALIFIED)
        aes.append(_lead(bot, body["id"]).ae_id)
    assert aes == ["U0AE1", "U0AE2", "U0AE1"]


def test_a_lead_whose_score_reaches_the_threshold_later_becomes_an_mql(engine, clock):
    from bot.intake.accept import accept_lead, parse_lead
    from bot.runtime.app import prepare_database

    data = yaml.safe_load(MINIMAL_CONFIG)
    data["scoring"] = {"mql_threshold": 40, "icp": {"industries": ["Software"], "regions": ["US"]}}
    config = make_config(**data)
    prepare_database(engine, config)
    first = accept_lead(engine, config, clock, parse_lead({**LEAD, "industry": "Software", "country": "US"}))
    assert (first.lead.score, first.lead.lifecycle_stage) == (30, "lead")

    again = accept_lead(engine, config, clock, parse_lead({"email": LEAD["email"], "demo_request": True}))

    assert again.created is False
    with read_session(engine) as session:
        lead = lead_store.get_lead(session, first.lead.id)
        kinds = [a.kind for a in lead_store.activities(session, lead.id)]
    assert (lead.score, lead.lifecycle_stage, lead.demo_request) == (40, "mql", True)
    assert kinds[-3:] == ["resubmitted", "scored", "mql"]


def test_with_no_active_ae_the_sql_goes_to_the_fallback(engine, clock):
    from bot.intake.accept import accept_lead, parse_lead
    from bot.lifecycle.codes import ContactMethod
    from bot.lifecycle.qualification import qualify_as_sql
    from bot.lifecycle.touches import log_touch
    from bot.runtime.app import prepare_database

    data = yaml.safe_load(MINIMAL_CONFIG)
    data["team"][2]["active"] = False
    config = make_config(**data)
    prepare_database(engine, config)
    lead = accept_lead(engine, config, clock, parse_lead(LEAD)).lead
    log_touch(engine, config, clock, lead_id=lead.id, actor_id="U0SDR1", via=ContactMethod.CALL, number=1)

    result = qualify_as_sql(
        engine,
        config,
        clock,
        lead_id=lead.id,
        actor_id="U0SDR1",
        notes=QUALIFIED["notes"],
        fields={k: v for k, v in QUALIFIED.items() if k != "notes"},
    )

    assert result.lead.ae_id == "U0MGR1"


def test_a_lead_nobody_reached_out_to_cannot_be_qualified_and_a_late_touch_keeps_the_sql(engine, clock):
    from bot.intake.accept import accept_lead, parse_lead
    from bot.lifecycle.codes import ContactMethod
    from bot.lifecycle.handoff import accept_sql
    from bot.lifecycle.outcomes import Outdated
    from bot.lifecycle.qualification import qualify_as_sql
    from bot.lifecycle.touches import TouchLogged, log_touch
    from bot.runtime.app import prepare_database

    config = make_config()
    prepare_database(engine, config)
    lead = accept_lead(engine, config, clock, parse_lead(LEAD)).lead
    fields = {k: v for k, v in QUALIFIED.items() if k != "notes"}

    def qualify():
        return qualify_as_sql(engine, config, clock, lead_id=lead.id, actor_id="U0SDR1", notes="Ready", fields=fields)

    def touch(number: int):
        return log_touch(
            engine, config, clock, lead_id=lead.id, actor_id="U0SDR1", via=ContactMethod.CALL, number=number
        )

    # The stage rules: Qualify starts from a contact attempt, as the DM only offers it after one.
    assert qualify() == Outdated(stage="new", detail="it is now New")
    assert isinstance(touch(1), TouchLogged)
    assert qualify().lead.stage == "sql"

    # A "Log another touch" from a DM drawn before the handoff is logged, but the lead stays the AE's SQL.
    assert isinstance(touch(2), TouchLogged)
    with read_session(engine) as session:
        stored = lead_store.get_lead(session, lead.id)
        pending = {t.kind for t in timer_store.pending_for_lead(session, lead.id)}
    assert (stored.stage, stored.touch_count) == ("sql", 2)
    assert pending == {"ae_reminder", "ae_escalate"}, "the AE's clock only: no SDR escalation for an SQL"
    assert accept_sql(engine, config, clock, lead_id=lead.id, actor_id="U0AE1").lead.stage == "accepted"
