"""The owner's DM and the Contacted click, at the wire level: signed requests in, Slack calls out."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.devtools.standin.requests import button_action, select_action
from store import leads as lead_store
from store.db import read_session
from tests.conftest import eventually

LEAD = {
    "email": "jordan@northwind.io",
    "first_name": "Jordan",
    "last_name": "Blake",
    "company": "Northwind",
    "title": "VP Engineering",
    "company_size": "201-500",
    "country": "US",
    "industry": "Software",
    "source": "Website",
    "pages_visited": ["/pricing"],
}


def mrkdwn_texts(node) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for value in node.values() for t in mrkdwn_texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    return []


def _lead(bot, lead_id):
    with read_session(bot.engine) as session:
        return lead_store.get_lead(session, lead_id), [a.kind for a in lead_store.activities(session, lead_id)]


def test_the_owner_gets_a_dm_saying_who_why_and_when(bot):
    _, body = bot.post_lead(LEAD)

    alert = bot.alert_for(body["id"])

    assert alert["channel"] == bot.slack.dm_channel("U0SDR1")
    blocks = json.dumps(alert["blocks"])
    for fact in (
        "Jordan Blake",
        "Northwind",
        "VP Engineering",
        "201-500",
        "US",
        "Website",
        "Score 5",
        "Visited the pricing page",
        "Default pool (all SDRs), round robin, 1st of 2",
        "First touch due by",
        "15m SLA",
    ):
        assert fact in blocks, fact
    assert alert["text"].startswith("New lead for you: Jordan Blake (Northwind), score 5.")
    # Only controls that make sense for a new lead: the Contacted menu with its four ways, and Disqualify.
    actions = [b for b in alert["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == ["lead.contacted", "lead.disqualify"]
    options = [o["text"]["text"] for o in actions[0]["elements"][0]["options"]]
    assert options == ["Call", "Email", "LinkedIn", "Meeting", "Other"]
    # Where the DM lives is stored, so later changes update it in place.
    lead = eventually(lambda: (lead := _lead(bot, body["id"])[0]).alert_ts and lead)
    assert (lead.alert_channel, lead.alert_ts) == (alert["channel"], alert["ts"])


def test_lead_fields_are_shown_literally_and_ping_nobody(bot):
    hostile = {
        **LEAD,
        "first_name": "<!channel>",
        "last_name": "<@U0MGR1>",
        "company": "*Bold* & <http://evil|Co>",
        "title": "<!here>",
    }
    _, body = bot.post_lead(hostile)

    alert = bot.alert_for(body["id"])

    # mrkdwn is where Slack turns <...> into mentions and links; plain_text is shown as typed.
    everything = " ".join(mrkdwn_texts(alert["blocks"])) + alert["text"]
    for raw in ("<!channel>", "<!here>", "<@U0MGR1>", "<http://evil|Co>"):
        assert raw not in everything
    assert "&lt;!channel&gt;" in everything and "&amp;" in everything


def test_contacted_by_the_owner_logs_the_touch_and_updates_the_dm_in_place(bot):
    _, body = bot.post_lead(LEAD)
    alert = bot.alert_for(body["id"])
    menu_block = next(b["block_id"] for b in alert["blocks"] if b["type"] == "actions")
    bot.clock.advance(timedelta(minutes=4, seconds=12))

    status = bot.click_contacted(body["id"], "U0SDR1", via="linkedin")

    assert status == 200
    bot.slack.wait_for(lambda: alert["edits"] == 1)
    update = bot.slack.calls_to("chat.update")[0].args
    assert (update["channel"], update["ts"]) == (alert["channel"], alert["ts"])
    shown = json.dumps(alert["blocks"])
    assert "Contacted* by <@U0SDR1> via LinkedIn" in shown
    assert "4m 12s after assignment, within the 15m SLA" in shown
    assert "Attempting Contact" in shown
    controls = [e for b in alert["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert controls[0]["placeholder"]["text"] == "Log another touch…"
    # A new block_id, or Slack would keep showing "LinkedIn" chosen in the redrawn menu.
    assert next(b["block_id"] for b in alert["blocks"] if b["type"] == "actions") != menu_block
    assert [c["action_id"] for c in controls[1:]] == ["lead.engaged", "lead.qualify", "lead.disqualify"]
    lead, kinds = _lead(bot, body["id"])
    assert lead.stage == "attempting_contact"
    assert (lead.first_touch_by, lead.first_touch_via) == ("U0SDR1", "linkedin")
    assert lead.first_touch_at == bot.clock.now()
    assert kinds[-2:] == ["touch", "stage_changed"]


def test_a_late_first_touch_says_how_far_over_the_sla_it_was(bot):
    _, body = bot.post_lead({**LEAD, "demo_request": True})  # hot: 5 minutes
    alert = bot.alert_for(body["id"])
    bot.clock.advance(timedelta(minutes=12))

    bot.click_contacted(body["id"], "U0SDR1", via="call")

    bot.slack.wait_for(lambda: alert["edits"] == 1)
    assert "12m after assignment, 7m over the 5m SLA" in json.dumps(alert["blocks"])


def test_anyone_but_the_owner_gets_a_polite_ephemeral_and_nothing_changes(bot):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])

    status = bot.click_contacted(body["id"], "U0SDR2")

    assert status == 200
    reply = bot.slack.wait_for(lambda: bot.ephemeral_for("U0SDR2"))
    assert reply[0]["response_type"] == "ephemeral" and reply[0]["replace_original"] is False
    assert "Only <@U0SDR1>" in reply[0]["text"]
    lead, kinds = _lead(bot, body["id"])
    assert lead.stage == "new" and lead.first_touch_at is None
    assert "touch" not in kinds
    assert bot.slack.calls_to("chat.update", ok=None) == []


def test_a_manager_may_log_the_touch_for_the_owner(bot):
    _, body = bot.post_lead(LEAD)
    alert = bot.alert_for(body["id"])

    bot.click_contacted(body["id"], "U0MGR1", via="email")

    bot.slack.wait_for(lambda: alert["edits"] == 1)
    with read_session(bot.engine) as session:
        touch = [a for a in lead_store.activities(session, body["id"]) if a.kind == "touch"][0]
    assert touch.actor == "U0MGR1" and touch.data["on_behalf_of"] == "U0SDR1"


def test_a_second_click_and_a_redelivery_change_nothing_twice(bot):
    _, body = bot.post_lead(LEAD)
    alert = bot.alert_for(body["id"])
    bot.click_contacted(body["id"], "U0SDR1", via="call")
    bot.slack.wait_for(lambda: alert["edits"] == 1)
    first = _lead(bot, body["id"])[0].first_touch_at
    bot.clock.advance(timedelta(minutes=1))

    # The same click again from an old copy of the message, and once more as a retried delivery.
    alert["blocks"] = bot.slack.calls_to("chat.postMessage")[0].args["blocks"]
    bot.click_contacted(body["id"], "U0SDR1", via="email")
    bot.click_contacted(body["id"], "U0SDR1", via="email", extra_headers={"X-Slack-Retry-Num": "1"})

    replies = bot.slack.wait_for(lambda: len(bot.ephemeral_for("U0SDR1")) == 2 and bot.ephemeral_for("U0SDR1"))
    assert all("Already logged: <@U0SDR1> logged a touch via Call" in r["text"] for r in replies)
    lead, kinds = _lead(bot, body["id"])
    assert kinds.count("touch") == 1 and lead.first_touch_at == first and lead.first_touch_via == "call"
    assert len(bot.slack.calls_to("chat.update")) == 1


def test_two_clicks_at_once_record_one_touch(bot):
    from concurrent.futures import ThreadPoolExecutor

    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])

    with ThreadPoolExecutor(4) as pool:
        statuses = list(
            pool.map(
                lambda via: bot.click_contacted(body["id"], "U0SDR1", via=via), ["call", "email", "linkedin", "other"]
            )
        )

    assert statuses == [200] * 4
    bot.slack.wait_for(lambda: len(bot.ephemeral_for("U0SDR1")) == 3)
    kinds = _lead(bot, body["id"])[1]
    assert kinds.count("touch") == 1


@pytest.mark.parametrize(
    "value",
    ['{"lead_id": "x", "via": "call"}', "not json", '{"lead_id": 1, "via": "fax"}'],
    ids=["bad-id", "not-json", "unknown-method"],
)
def test_a_tampered_or_outdated_choice_gets_an_ephemeral_and_changes_nothing(bot, value):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])

    bot.click_contacted(body["id"], "U0SDR1", option_value=value)

    reply = bot.slack.wait_for(lambda: bot.ephemeral_for("U0SDR1"))
    assert "out of date or unreadable" in reply[0]["text"]
    assert _lead(bot, body["id"])[0].first_touch_at is None


def test_a_choice_for_a_lead_that_does_not_exist_says_so(bot):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])

    bot.click_contacted(body["id"], "U0SDR1", option_value='{"lead_id": 999, "via": "call"}')

    reply = bot.slack.wait_for(lambda: bot.ephemeral_for("U0SDR1"))
    assert "Lead #999 no longer exists" in reply[0]["text"]


def test_an_unknown_button_gets_a_polite_ephemeral(bot):
    _, body = bot.post_lead(LEAD)
    alert = bot.alert_for(body["id"])

    status = bot.send_action("U0SDR1", button_action("lead.launch_rockets", "b1", "{}"), alert)

    assert status == 200
    reply = bot.slack.wait_for(lambda: bot.ephemeral_for("U0SDR1"))
    assert "doesn't know that button" in reply[0]["text"]


@pytest.mark.parametrize("case", ["bad-signature", "stale-timestamp", "future-timestamp", "no-signature"])
def test_requests_not_signed_by_slack_get_401_and_change_nothing(bot, case):
    _, body = bot.post_lead(LEAD)
    bot.alert_for(body["id"])
    now = int(time.time())

    if case == "bad-signature":
        status = bot.click_contacted(body["id"], "U0SDR1", secret="not-the-secret")
    elif case == "stale-timestamp":
        status = bot.click_contacted(body["id"], "U0SDR1", timestamp=now - 6 * 60)
    elif case == "future-timestamp":
        status = bot.click_contacted(body["id"], "U0SDR1", timestamp=now + 6 * 60)
    else:
        from bot.devtools.standin.requests import post

        status, _, _ = post(
            f"{bot.url}/slack/events", "payload=%7B%7D", {"Content-Type": "application/x-www-form-urlencoded"}
        )

    assert status == 401
    assert _lead(bot, body["id"])[0].first_touch_at is None
    assert bot.slack.responses == []


def test_a_click_on_a_select_with_no_selected_option_is_refused_politely(bot):
    _, body = bot.post_lead(LEAD)
    alert = bot.alert_for(body["id"])
    action = select_action("lead.contacted", "b1", {})
    del action["selected_option"]

    bot.send_action("U0SDR1", action, alert)

    reply = bot.slack.wait_for(lambda: bot.ephemeral_for("U0SDR1"))
    assert "out of date or unreadable" in reply[0]["text"]


def test_later_touches_are_logged_from_the_same_message_and_restart_the_idle_clock(bot):
    _, body = bot.post_lead(LEAD)
    alert = bot.alert_for(body["id"])
    bot.click_contacted(body["id"], "U0SDR1", via="call")
    bot.slack.wait_for(lambda: alert["edits"] == 1)
    bot.clock.advance(timedelta(hours=1, minutes=30))

    bot.click_contacted(body["id"], "U0SDR1", via="email")  # "Log another touch…" on the updated DM

    bot.slack.wait_for(lambda: alert["edits"] == 2)
    assert "Last touch: Email by <@U0SDR1>" in json.dumps(alert["blocks"]) and "2 touches" in json.dumps(
        alert["blocks"]
    )
    lead, kinds = _lead(bot, body["id"])
    assert lead.touch_count == 2 and lead.first_touch_via == "call" and lead.last_touch_via == "email"
    assert kinds.count("touch") == 2 and kinds.count("stage_changed") == 1
    # A worked lead is escalated after 2 working days of silence, counted from the latest touch (10:30 Monday).
    bot.clock.set(datetime(2026, 11, 25, 14, 1, tzinfo=UTC))  # Wednesday 09:01 in New York: 2 days after the first
    assert bot.sweep().outcomes.get("escalated") is None
    bot.clock.set(datetime(2026, 11, 25, 15, 30, tzinfo=UTC))  # Wednesday 10:30: 2 days after the second
    assert bot.sweep().outcomes["escalated"] == 1


def test_no_post_about_a_lead_unfurls_its_links(bot):
    _, body = bot.post_lead({**LEAD, "company": "https://northwind.example/pricing", "email": "x@northwind.example"})
    bot.alert_for(body["id"])
    bot.post_lead({**LEAD, "company": "https://northwind.example/pricing", "email": "x@northwind.example"})
    bot.slack.wait_for(lambda: len(bot.slack.calls_to("chat.postMessage")) >= 2)  # the alert, the resubmission

    posts = bot.slack.calls_to("chat.postMessage")
    assert all(p.args.get("unfurl_links") is False and p.args.get("unfurl_media") is False for p in posts)
