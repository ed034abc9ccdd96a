"""The fake Slack refuses what Slack would refuse, so a test that passes against it means something."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError


@pytest.fixture
def client(fake_slack) -> WebClient:
    return WebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url, retry_handlers=[])


def _error(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value.response["error"]


def _button(value: str, text: str = "Go") -> dict:
    return {
        "type": "actions",
        "elements": [
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": text}, "value": value}
        ],
    }


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")  # slack-sdk warns; that is the point
def test_a_message_without_text_is_refused(client):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
    assert _error(lambda: client.chat_postMessage(channel="C1", blocks=blocks)) == "no_text"


def test_more_than_fifty_blocks_is_refused(client):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}] * 51
    assert _error(lambda: client.chat_postMessage(channel="C1", text="t", blocks=blocks)) == "invalid_blocks"


@pytest.mark.parametrize(
    "block",
    [
        _button("v" * 2001),
        _button("v", "t" * 76),
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}},
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
        {"type": "carousel"},
    ],
    ids=["button-value", "button-text", "section-text", "header-text", "unknown-block"],
)
def test_broken_block_kit_limits_are_refused(client, block):
    assert _error(lambda: client.chat_postMessage(channel="C1", text="t", blocks=[block])) == "invalid_blocks"


def test_a_wrong_token_an_unknown_message_and_an_unknown_method_are_refused(fake_slack, client):
    wrong = WebClient(token="xoxb-wrong", base_url=fake_slack.base_url, retry_handlers=[])
    assert _error(lambda: wrong.chat_postMessage(channel="C1", text="t")) == "invalid_auth"
    assert _error(lambda: client.chat_update(channel="C1", ts="1.2", text="t")) == "message_not_found"
    assert _error(lambda: client.api_call("chat.launchRockets")) == "unknown_method"


def test_a_rate_limit_answers_429_with_retry_after(fake_slack, client):
    fake_slack.fail_next("chat.postMessage", status=429, error="ratelimited", retry_after=30)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C1", text="t")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "30"


def test_a_dm_to_a_user_lands_in_their_im_channel_and_can_be_updated(fake_slack, client):
    posted = client.chat_postMessage(channel="U0SDR1", text="first")
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="second")
    assert posted["channel"] == "D0SDR1"
    assert [m["text"] for m in fake_slack.messages_in("D0SDR1")] == ["second"]
