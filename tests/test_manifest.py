"""manifest.yml creates a working app: valid against Slack's v1 schema and in step with the code."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from bot.core.settings import Settings
from bot.runtime.app import build_leadbot
from tests.conftest import FIXTURES, make_config

ROOT = Path(__file__).parent.parent
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_the_manifest_is_valid_against_slacks_v1_schema():
    schema = json.loads((FIXTURES / "slack" / "manifest.schema.1.0.0.json").read_text())
    jsonschema.validate(MANIFEST, schema)


def test_a_manifest_with_a_mistake_is_caught_by_the_schema():
    schema = json.loads((FIXTURES / "slack" / "manifest.schema.1.0.0.json").read_text())
    broken = {**MANIFEST, "settings": {**MANIFEST["settings"], "interactivity": {"is_enabled": "yes"}}}
    try:
        jsonschema.validate(broken, schema)
    except jsonschema.ValidationError:
        return
    raise AssertionError("the schema accepted a string for a boolean")


def test_every_command_and_event_in_the_manifest_has_a_listener(tmp_path):
    settings = Settings(slack_bot_token="xoxb-x", slack_signing_secret="s", database_url=f"sqlite:///{tmp_path}/m.db")
    listeners = build_leadbot(settings, make_config()).bolt._listeners
    commands = [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]

    assert commands == ["/leadstats", "/leadbot"] and events == ["app_home_opened"]
    # Without should_escape Slack sends "@ana.silva" as typed, never the <@U…|name> the commands read.
    assert all(c["should_escape"] is True for c in MANIFEST["features"]["slash_commands"])
    for command in commands:
        assert any(_handles_command(listener, command) for listener in listeners), command
    for event in events:
        assert any(_handles_event(listener, event) for listener in listeners), event
    assert not any(_handles_command(listener, "/not-ours") for listener in listeners)


def _handles_command(listener, command: str) -> bool:
    body = {"command": command, "text": ""}
    return all(m.matches(_request(body), None) for m in listener.matchers)


def _handles_event(listener, event: str) -> bool:
    body = {"type": "event_callback", "event": {"type": event}}
    return all(m.matches(_request(body), None) for m in listener.matchers)


def _request(body: dict):
    from slack_bolt.request import BoltRequest

    raw = json.dumps(body) if "event" in body else "&".join(f"{k}={v}" for k, v in body.items())
    return BoltRequest(
        body=raw,
        headers={"content-type": ["application/json" if "event" in body else "application/x-www-form-urlencoded"]},
    )


def test_the_bot_scopes_are_the_ones_the_code_uses():
    # *:history: the relay looks for a post whose answer was lost (conversations.history / replies) before
    # posting it again, in DMs and in the escalations, handoffs and unclaimed channels (public or private).
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == [
        "channels:history",
        "chat:write",
        "commands",
        "files:write",
        "groups:history",
        "im:history",
        "im:write",
    ]


def test_the_procfile_runs_the_production_server():
    procfile = (ROOT / "Procfile").read_text()
    assert "web: leadbot serve" in procfile
