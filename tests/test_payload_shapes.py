"""Our signed requests look like Slack's: compared with captured real payloads and Slack's signing vector."""

from __future__ import annotations

import json

from slack_sdk.signature import SignatureVerifier

from bot.devtools.standin.requests import block_actions_payload, button_action, event_callback_body, signed_headers
from tests.conftest import FIXTURES

SLACK = FIXTURES / "slack"


def _shape(node):
    if isinstance(node, dict):
        return {key: _shape(value) for key, value in node.items()}
    return type(node).__name__


def test_block_actions_have_the_keys_of_a_captured_dm_click():
    real = json.loads((SLACK / "block_actions.dm_button.captured_heybot.json").read_text())
    message = {"type": "message", "user": "U0LEADBOT", "bot_id": "B0LEADBOT", "ts": "1.2", "text": "x", "blocks": []}
    ours = block_actions_payload(
        user_id="U0SDR1",
        action=button_action("a", "b", "v", "Text"),
        channel_id="D0SDR1",
        message=message,
        response_url="http://127.0.0.1/response/1",
    )

    assert set(ours) == set(real)
    for key in ("user", "container", "team", "channel"):
        assert _shape(ours[key]) == _shape(real[key]), key
    assert set(ours["message"]) == set(real["message"])
    assert set(ours["actions"][0]) == set(real["actions"][0])


def test_events_have_the_envelope_of_slacks_example():
    real = json.loads((SLACK / "event_callback.app_home_opened.home_tab.slack-docs.json").read_text())
    ours = json.loads(event_callback_body(real["event"]))
    assert set(real) <= set(ours)


def test_our_signature_matches_slacks_published_vector():
    vector = json.loads((SLACK / "slash_command.signed.slack-docs.vector.json").read_text())
    body = (SLACK / vector["body_file"]).read_text()

    headers = signed_headers(
        vector["signing_secret"],
        body,
        "application/x-www-form-urlencoded",
        timestamp=int(vector["headers"]["X-Slack-Request-Timestamp"]),
    )

    assert headers["X-Slack-Signature"] == vector["headers"]["X-Slack-Signature"]
    assert (
        SignatureVerifier(vector["signing_secret"]).is_valid(
            body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        )
        is False
    )  # 2018: stale


def test_view_submissions_have_the_keys_of_a_captured_modal_submission():
    from bot.devtools.standin.requests import view_submission_payload

    real = json.loads((SLACK / "view_submission.modal.captured_heybot.json").read_text())
    view = {
        "id": "V1",
        "type": "modal",
        "callback_id": "x",
        "private_metadata": "{}",
        "title": {},
        "submit": {},
        "close": {},
        "blocks": [
            {"type": "input", "block_id": "notes", "element": {"type": "plain_text_input", "action_id": "value"}}
        ],
        "team_id": "T1",
        "hash": "1.2",
    }
    ours = view_submission_payload(user_id="U0SDR1", view=view, values={"notes": "hi"})

    assert set(ours) == set(real)
    assert set(ours["view"]) == set(real["view"])
    assert _shape(ours["user"]) == _shape(real["user"])
    real_value = next(iter(next(iter(real["view"]["state"]["values"].values())).values()))
    assert set(ours["view"]["state"]["values"]["notes"]["value"]) == set(real_value)
