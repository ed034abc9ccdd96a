"""Requests as Slack sends them to the bot: payload shapes and the v0 signature.

The demo uses these to click buttons "as the SDR would", and the tests use them at the wire
level. Shapes follow real captured payloads (tests/fixtures/slack/ keeps copies, and a test compares).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

from slack_sdk.signature import SignatureVerifier

from bot.devtools.standin.web_api import TEAM_ID

APP_ID = "A0LEADBOT"


def signed_headers(signing_secret: str, body: str, content_type: str, timestamp: int | None = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=str(timestamp), body=body)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def select_action(action_id: str, block_id: str, option: dict, placeholder: str = "") -> dict:
    """One entry of `actions` for a static_select choice."""
    return {
        "type": "static_select",
        "action_id": action_id,
        "block_id": block_id,
        "selected_option": option,
        "placeholder": {"type": "plain_text", "text": placeholder, "emoji": True},
        "action_ts": f"{time.time():.6f}",
    }


def button_action(action_id: str, block_id: str, value: str, text: str = "Button") -> dict:
    return {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "value": value,
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }


def block_actions_payload(
    *, user_id: str, action: dict, channel_id: str, message: dict | None, response_url: str, user_name: str = "rep"
) -> dict:
    """A `block_actions` payload from a click on a bot message (shape of a captured DM click)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "XXXXXXXXXXXXXXXXXXXXXXXX",
        "container": {
            "type": "message",
            "message_ts": (message or {}).get("ts", ""),
            "channel_id": channel_id,
            "is_ephemeral": message is None,
        },
        "trigger_id": "1388105719492.1379717998065.9bc163894734c1f415a2c504e81dec91",
        "team": {"id": TEAM_ID, "domain": "leadbot-standin"},
        "channel": {"id": channel_id, "name": "directmessage" if channel_id.startswith("D") else "leads"},
        "response_url": response_url,
        "actions": [action],
    }
    if message is not None:
        payload["message"] = {k: message[k] for k in ("type", "user", "bot_id", "ts", "text", "blocks") if k in message}
        payload["message"]["team"] = TEAM_ID
    return payload


def view_submission_payload(*, user_id: str, view: dict, values: dict[str, str | None], user_name: str = "rep") -> dict:
    """A `view_submission` for a modal as the user filled it in: block_id → typed text or chosen option value."""
    state: dict[str, dict] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input" or block["block_id"] not in values:
            continue
        element, value = block["element"], values[block["block_id"]]
        if element["type"] == "static_select":
            option = next((o for o in element["options"] if o["value"] == value), None)
            entry = {"type": "static_select", "selected_option": option}
        else:
            entry = {"type": element["type"], "value": value}
        state[block["block_id"]] = {element["action_id"]: entry}
    submitted = {
        **view,
        "state": {"values": state},
        "previous_view_id": None,
        "root_view_id": view.get("id"),
        "app_id": APP_ID,
        "external_id": "",
        "app_installed_team_id": TEAM_ID,
        "bot_id": "B0LEADBOT",
        "clear_on_close": False,
        "notify_on_close": False,
    }
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "leadbot-standin"},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "XXXXXXXXXXXXXXXXXXXXXXXX",
        "trigger_id": "1410876803872.1379717998065.6a115a24993a3a4faefd03f2d2a736c3",
        "view": submitted,
        "response_urls": [],
    }


def interactive_body(payload: dict) -> str:
    """Interactive payloads travel as a form with one field: payload=<urlencoded JSON>."""
    return "payload=" + quote(json.dumps(payload))


def slash_command_body(
    *, command: str, text: str, user_id: str, response_url: str, channel_id: str = "C0GENERAL", user_name: str = "rep"
) -> str:
    return urlencode(
        {
            "token": "XXXXXXXXXXXXXXXXXXXXXXXX",
            "team_id": TEAM_ID,
            "team_domain": "leadbot-standin",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )


def event_callback_body(event: dict, event_id: str = "Ev0LEADBOT01") -> str:
    return json.dumps(
        {
            "token": "XXXXXXXXXXXXXXXXXXXXXXXX",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": "U0LEADBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-eyJldCI6ImFwcF9ob21lX29wZW5lZCJ9",
        }
    )


def post(url: str, body: str | bytes, headers: dict, timeout: float = 10) -> tuple[int, str, dict]:
    """POST and return (status, body, headers) whatever the status."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def post_signed(
    url: str,
    body: str,
    signing_secret: str,
    content_type: str,
    timestamp: int | None = None,
    extra_headers: dict | None = None,
) -> tuple[int, str, dict]:
    headers = signed_headers(signing_secret, body, content_type, timestamp) | (extra_headers or {})
    return post(url, body, headers)


def send_block_action(
    *,
    url: str,
    signing_secret: str,
    user_id: str,
    action: dict,
    message: dict,
    response_url: str,
    user_name: str = "rep",
    timestamp: int | None = None,
    extra_headers: dict | None = None,
) -> int:
    """Click `action` on `message` as `user_id` would: a signed block_actions POST to the bot's /slack/events."""
    payload = block_actions_payload(
        user_id=user_id,
        user_name=user_name,
        action=action,
        channel_id=message["channel"],
        message=message,
        response_url=response_url,
    )
    status, _, _ = post_signed(
        f"{url}/slack/events",
        interactive_body(payload),
        signing_secret,
        "application/x-www-form-urlencoded",
        timestamp=timestamp,
        extra_headers=extra_headers,
    )
    return status


def send_view_submission(
    *, url: str, signing_secret: str, user_id: str, view: dict, values: dict[str, str | None], user_name: str = "rep"
) -> tuple[int, str]:
    """Submit a modal as `user_id` would; returns (status, body): Slack shows `response_action: errors` inline."""
    payload = view_submission_payload(user_id=user_id, view=view, values=values, user_name=user_name)
    status, body, _ = post_signed(
        f"{url}/slack/events", interactive_body(payload), signing_secret, "application/x-www-form-urlencoded"
    )
    return status, body
