"""Message builders: Slack's limits and the text fallback hold whatever a lead sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.devtools.standin.block_checks import block_problems
from bot.slack.alert import lead_alert
from bot.slack.blocks import escape
from bot.slack.home import home_view
from store.models import Lead

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def _lead(**fields) -> Lead:
    base = dict(
        id=7,
        email="a@b.com",
        email_norm="a@b.com",
        created_at=NOW,
        assigned_at=NOW,
        first_touch_due_at=NOW + timedelta(minutes=15),
        owner_id="U0SDR1",
        routing_reason="Round robin",
        score=0,
        score_reasons=[],
    )
    return Lead(**(base | fields))


def test_escape_neutralises_slacks_control_characters():
    assert escape("<!channel> & <@U1> <http://x|y>") == "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;http://x|y&gt;"


def test_an_alert_with_huge_fields_stays_within_slacks_limits_and_has_text():
    huge = "W" * 5000
    lead = _lead(
        first_name=huge,
        last_name=huge,
        company=huge,
        title=huge,
        industry=huge,
        country=huge,
        company_size=huge,
        source=huge,
        lead_source=huge,
        routing_reason=huge,
        score_reasons=[{"rule": "r", "points": 1, "detail": huge}] * 30,
    )

    message = lead_alert(lead, sla=timedelta(minutes=15), mql_threshold=40, tz=ZoneInfo("America/New_York"))

    assert block_problems(message.blocks, 50) == []
    assert 0 < len(message.text) <= 3000


def test_the_home_view_caps_itself_at_slacks_100_blocks():
    leads = [_lead(id=i, email=f"p{i}@b.com") for i in range(1, 151)]
    view = home_view("Sam", leads, ZoneInfo("UTC"), NOW)
    assert len(view["blocks"]) <= 100 and block_problems(view["blocks"], 100) == []


def test_the_home_view_says_how_long_is_left_or_how_overdue():
    view = home_view("Sam", [_lead()], ZoneInfo("UTC"), NOW + timedelta(minutes=20))
    assert "overdue by 5m" in view["blocks"][1]["text"]["text"]


def test_clipping_never_cuts_an_entity_or_a_mention_in_half():
    from bot.slack.blocks import clip, escape

    text = escape("R&D <Labs> " * 400)
    for limit in range(20, 60):
        clipped = clip(text, limit)
        assert len(clipped) <= limit and clipped.endswith("…")
        head = clipped.removesuffix("…")
        assert head.count("&") == head.count(";"), clipped  # every entity whole
    mention = clip("Owned by <@U0SDR1> and <!date^1700000000^{time}|10:00>", 30)
    assert mention == "Owned by <@U0SDR1> and …"


def test_a_long_field_full_of_ampersands_is_shown_whole_or_clipped_cleanly():
    lead = _lead(company="&" * 1000, title="<" * 500)
    alert = lead_alert(lead, sla=timedelta(minutes=15), mql_threshold=40, tz=ZoneInfo("UTC"))
    for block in alert.blocks:
        for text in _mrkdwn_texts(block):
            assert "&am…" not in text and "&l…" not in text and "&…" not in text
            assert len(text) <= 3000


def _mrkdwn_texts(block: dict) -> list[str]:
    found = []
    if isinstance(block, dict):
        if block.get("type") == "mrkdwn":
            found.append(block["text"])
        for value in block.values():
            found += _mrkdwn_texts(value)
    elif isinstance(block, list):
        for value in block:
            found += _mrkdwn_texts(value)
    return found
