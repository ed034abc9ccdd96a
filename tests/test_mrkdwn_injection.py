"""Lead fields are data, never markup: every message and view Leadbot builds shows them literally.

A lead whose fields carry `<!channel>`, `<!here>`, `<@U0MGR1>`, `*bold*` or `<http://evil|link>` goes
through every builder in bot.slack and through /leadstats; no mrkdwn string (and no notification
`text`, which Slack also parses) may contain those as markup.
"""

from __future__ import annotations

import inspect
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.intake.accept import accept_lead, parse_lead
from bot.reports.leadstats import parse_request, report_text
from bot.runtime.app import prepare_database
from bot.slack import alert, blocks, claims, commands, escalation, handoff, home, modals, notices
from store.models import Lead, Stage
from tests.conftest import START, make_config

HOSTILE = ["<!channel>", "<!here>", "<@U0MGR1>", "*bold*", "<http://evil|link>"]
NAME = " ".join(HOSTILE)


def _hostile_lead() -> Lead:
    return Lead(
        id=7,
        email="x*y@evil.com",
        email_norm="x*y@evil.com",
        first_name=NAME,
        last_name="<!everyone>",
        company=NAME,
        title=NAME,
        industry=NAME,
        country=NAME,
        company_size=NAME,
        product_interest=NAME,
        source=NAME,
        lead_source=NAME,
        routing_reason=NAME,
        score_reasons=[{"rule": NAME, "points": 10, "detail": NAME}],
        created_at=START,
        assigned_at=START,
        first_touch_due_at=START + timedelta(minutes=15),
        first_touch_at=START + timedelta(minutes=3),
        last_touch_at=START + timedelta(minutes=3),
        last_touch_by="U0SDR1",
        last_touch_via="call",
        touch_count=1,
        last_activity_at=START,
        owner_id="U0SDR1",
        ae_id="U0AE1",
        stage=Stage.SQL,
        qualification={"notes": NAME, "fields": {"budget": NAME}},
        outcome={"code": "other", "notes": NAME, "by": "U0AE1"},
        extra={"utm_campaign": NAME},
        crm_record_id="9",
        crm_record_type="contact",
        crm_record_url="https://app.hubspot.com/contacts/1/record/0-1/9",
    )


def _every_built_thing() -> dict[str, object]:
    """Every public builder in bot.messages, called with the hostile lead (a new builder must be added here)."""
    config, lead, tz = make_config(), _hostile_lead(), ZoneInfo("America/New_York")
    built = {
        "accept_modal": modals.accept_modal(lead, config, ["amount"]),
        "ae_escalation": escalation.ae_escalation(lead, timedelta(hours=4)),
        "ae_home_view": home.ae_home_view(NAME, [lead], config),
        "ae_reminder": escalation.ae_reminder(lead),
        "alert_for": alert.alert_for(lead, config),
        "claim_offer": claims.claim_offer(lead),
        "claim_offer_claimed": claims.claim_offer(lead, claimed_by="U0SDR2"),
        "claimed_away": claims.claimed_away(lead, "U0SDR2"),
        "disqualify_modal": modals.disqualify_modal(lead),
        "escalation": escalation.escalation(lead, "2h", owner="U0SDR1"),
        "escalation_resolved": escalation.escalation(lead, "2h", resolved=blocks.escape(NAME)),
        "escalation_claimed": escalation.escalation(lead, "1d", stays_with_fallback=True),
        "first_touch_breached": alert.first_touch_breached(lead, timedelta(minutes=15)),
        "first_touch_reminder": alert.first_touch_reminder(lead, START),
        "first_touch_summary": alert.first_touch_summary(lead, timedelta(minutes=15)),
        "handoff": handoff.handoff(lead, config, ae_reason=NAME),
        "handoff_accepted_reply": handoff.handoff_accepted_reply(lead, "U0AE1", 3),
        "handoff_rejected_reply": handoff.handoff_rejected_reply(lead, "U0AE1"),
        "home_view": home.home_view(NAME, [lead], tz, START),
        "lead_alert": alert.lead_alert(lead, sla=timedelta(minutes=15), mql_threshold=40, tz=tz),
        "manager_home_view": home.manager_home_view(NAME, "today", [lead], {"U0SDR2": None}, tz, {"U0SDR2": NAME}),
        "notice_modal": modals.notice_modal(blocks.escape(NAME)),
        "qualify_modal": modals.qualify_modal(lead, config),
        "owner_left_the_team": escalation.owner_left_the_team(lead, "HubSpot", NAME),
        "reassigned_away": escalation.reassigned_away(lead, "U0SDR1", "U0SDR2", NAME),
        "reassignment_notice": escalation.reassignment_notice(lead, "U0SDR1", "U0SDR2", NAME),
        "reject_modal": modals.reject_modal(lead),
        "resubmission_notice": alert.resubmission_notice(lead, NAME),
        # The quoted text is a message Leadbot built for the lead (lead data already escaped, mentions in it).
        "undeliverable_notice": notices.undeliverable_notice(
            7, "U0SDR1", NAME, alert.alert_for(lead, config).text + " <!here> <@U0MGR1>"
        ),
        "unknown_option": commands.unknown_option(NAME),
        "deal_in_crm_reply": handoff.deal_in_crm_reply(
            lead, "HubSpot", "https://app.hubspot.com/contacts/1/record/0-3/9", 3
        ),
        # The CRM's own words are quoted: a validation message can carry a lead's hostile value back.
        "crm_refusal_notice": notices.crm_refusal_notice(
            7, "HubSpot", f"HubSpot refused it (VALIDATION_ERROR): {NAME}"
        ),
    }
    return built


# Helpers that return data, not messages: escape/clip/slack_date/lead_title/availability_confirmation.
NOT_MESSAGES = {
    "escape", "clip", "slack_date", "lead_title", "availability_confirmation",
    # Block Kit pieces the builders above are made of (each reaches Slack only inside one of them).
    "mrkdwn", "field", "button", "finish", "note", "lead_controls", "outcome_line", "decision_buttons", "open_in_crm",
}  # fmt: skip
BUILDER_MODULES = [alert, blocks, claims, commands, escalation, handoff, home, modals, notices]


def test_every_builder_is_in_the_list():
    public = {
        name
        for module in BUILDER_MODULES
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if fn.__module__ == module.__name__ and not name.startswith("_")
    }
    covered = {name.removesuffix("_claimed").removesuffix("_resolved") for name in _every_built_thing()}
    assert public - NOT_MESSAGES == covered


def _parsed_strings(built: object) -> list[str]:
    """The strings Slack parses as mrkdwn: mrkdwn text objects, and a message's top-level `text`."""
    if isinstance(built, str):
        return [built]
    payload = built.as_payload() if hasattr(built, "as_payload") else built
    found = [payload["text"]] if isinstance(payload.get("text"), str) else []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(json.dumps(payload, default=lambda o: o.to_dict())))
    return found


def _markup_in(text: str) -> list[str]:
    problems = [bad for bad in [*HOSTILE, "<!everyone>"] if bad in text and bad != "*bold*"]
    if "*bold*" in text.replace("\u200b*bold*", ""):
        problems.append("*bold*")
    return problems


@pytest.mark.parametrize("name", sorted(_every_built_thing()))
def test_hostile_lead_fields_are_shown_literally_and_ping_nobody(name):
    strings = _parsed_strings(_every_built_thing()[name])
    assert strings, "the builder produced no text Slack parses"
    for text in strings:
        assert _markup_in(text) == [], text


def test_the_hostile_text_is_still_there_to_read():
    message = alert.alert_for(_hostile_lead(), make_config())
    shown = json.dumps(message.as_payload(), ensure_ascii=False)
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U0MGR1&gt; \u200b*bold* &lt;http://evil|link&gt;" in shown


def test_leadstats_shows_hostile_emails_and_sources_literally(engine, clock):
    config = make_config()
    prepare_database(engine, config)
    accept_lead(engine, config, clock, parse_lead({"email": "a*b*@evil.com", "source": NAME}))
    clock.advance(timedelta(days=2))

    text = report_text(engine, config, parse_request("7d", "U0MGR1", config, clock.now()), clock.now())

    assert "Unknown" in text or "&lt;!channel&gt;" in text
    assert _markup_in(text) == []
