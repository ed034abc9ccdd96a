"""Hostile input, generated: whatever arrives at /leads, the CRM webhooks or /slack/events (signed, but
malformed, truncated, mistyped, huge or unicode), Leadbot answers with a clear 4xx or a normal Slack ack,
never a 5xx, and never writes half of something."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from bot.devtools.standin.requests import block_actions_payload, interactive_body, post, post_signed, slash_command_body
from store.db import read_session
from store.models import Activity, Lead, OutboxMessage, Timer
from tests.conftest import INTAKE_TOKEN, SIGNING_SECRET, hubspot_headers

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run, so CI is repeatable; raise max_examples to explore
)

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
LEAD_KEYS = [
    "email", "first_name", "last_name", "company", "domain", "title", "phone", "country", "region", "company_size",
    "industry", "product_interest", "product", "source", "utm_source", "utm_medium", "utm_campaign", "demo_request",
    "pricing_page_visit", "pages_visited", "external_id",
]  # fmt: skip
emails = st.emails() | st.text(max_size=30) | st.just("dup@acme.com")
leads = (
    st.fixed_dictionaries(
        {"email": emails},
        optional={key: json_values | st.text(min_size=200, max_size=3000) for key in LEAD_KEYS[1:]},
    )
    | json_values
)
# NUL characters (PostgreSQL cannot store them in text) and nesting from harmless to far past the parser's limit.
with_nul = st.text(max_size=10).map(lambda t: f"{t}\x00{t}")
nested = st.tuples(st.integers(1, 20_000), st.sampled_from(["[]", "{}"])).map(
    lambda n_kind: (
        ('[{"a": ' * (n_kind[0] // 2) + "1" + "}]" * (n_kind[0] // 2))
        if n_kind[1] == "{}"
        else ("[" * n_kind[0] + "]" * n_kind[0])
    )
)
hostile_leads = st.one_of(
    st.fixed_dictionaries({"email": emails}, optional={key: with_nul for key in LEAD_KEYS[1:6]}).map(json.dumps),
    st.dictionaries(with_nul, st.text(max_size=5), min_size=1, max_size=2).map(
        lambda extra: json.dumps({"email": "a@acme.com", **extra})
    ),
    nested,
    nested.map(lambda deep: '{"email": "a@acme.com", "junk": ' + deep + "}"),
)
bodies = leads.map(lambda v: json.dumps(v)) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")) | hostile_leads


def _counts(engine) -> tuple[int, ...]:
    with read_session(engine) as session:
        return tuple(
            session.exec(select(func.count()).select_from(m)).one() for m in (Lead, Activity, Timer, OutboxMessage)
        )


def _check_intake_answer(engine, before, status: int, raw: str) -> None:
    event(f"answered {status}")  # --hypothesis-show-statistics shows how the examples spread
    assert status < 500, raw
    after = _counts(engine)
    if status in (200, 201):
        answer = json.loads(raw)
        assert answer["id"] and answer["owner"]
        assert after[0] == before[0] + (1 if status == 201 else 0)
        assert after[1] > before[1] and after[3] > before[3]  # its activity and its message, with it
    else:
        assert status in (400, 413, 415, 422), raw
        assert json.loads(raw)["error"]  # a clear error, as JSON
        assert after == before  # nothing half-written


@FUZZ
@given(body=bodies)
def test_intake_never_answers_5xx_and_never_half_writes(bot, body):
    before = _counts(bot.engine)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {INTAKE_TOKEN}"}
    status, raw, _ = post(f"{bot.url}/leads", body.encode("utf-8", "surrogatepass"), headers)
    _check_intake_answer(bot.engine, before, status, raw)


@FUZZ
@given(
    properties=st.fixed_dictionaries(
        {"email": emails | json_values | st.fixed_dictionaries({"value": emails})},
        optional={
            key: json_values | st.fixed_dictionaries({"value": json_values})
            for key in ["firstname", "company", "numemployees", "demo_request", "hs_analytics_source", "junk"]
        },
    )
    | st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    wrap=st.booleans(),
)
def test_crm_webhooks_never_answer_5xx_and_never_half_write(bot, properties, wrap):
    payload = {"objectId": 1, "properties": properties} if wrap else properties
    body = json.dumps(payload)
    for path in ("/leads/hubspot", "/leads/salesforce"):
        url = f"{bot.url}{path}"
        before = _counts(bot.engine)
        if path.endswith("hubspot"):
            headers = hubspot_headers(url, body, int(bot.clock.now().timestamp() * 1000))
        else:
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {INTAKE_TOKEN}"}
        status, raw, _ = post(url, body, headers)
        _check_intake_answer(bot.engine, before, status, raw)


def _mutate(data, path: list, value):
    """`data` with the value at `path` replaced (or the key removed when value is ...)."""
    if not path:
        return value
    key, rest = path[0], path[1:]
    if isinstance(data, dict) and key in data:
        copy = dict(data)
        if value is ... and not rest:
            del copy[key]
        else:
            copy[key] = _mutate(data[key], rest, value)
        return copy
    if isinstance(data, list) and isinstance(key, int) and key < len(data):
        copy = list(data)
        if value is ... and not rest:
            del copy[key]
        else:
            copy[key] = _mutate(data[key], rest, value)
        return copy
    return data


def _paths(data, prefix=()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


@pytest.fixture
def clicked_lead(bot):
    _, body = bot.post_lead({"email": "target@acme.com"})
    return json.loads(json.dumps(bot.alert_for(body["id"])))  # a copy: the fake Slack edits its own in place


@FUZZ
@given(data=st.data())
def test_signed_but_malformed_slack_payloads_never_get_a_5xx_nor_change_half_a_lead(bot, clicked_lead, data):
    alert = clicked_lead
    actions = next(b for b in alert["blocks"] if b["type"] == "actions")
    menu = actions["elements"][0]
    action = {"type": "static_select", "action_id": menu["action_id"], "block_id": actions["block_id"],
              "selected_option": menu["options"][0], "action_ts": "1.0"}  # fmt: skip
    payload = block_actions_payload(
        user_id=data.draw(st.sampled_from(["U0SDR1", "U0SDR2", "U0MGR1", "UNOBODY"])),
        action=action,
        channel_id=alert["channel"],
        message=alert,
        response_url=bot.slack.response_url("fuzz"),
    )
    for _ in range(data.draw(st.integers(1, 4))):  # a few mutations: wrong types, missing keys, junk
        path = data.draw(st.sampled_from(_paths(payload)))
        deep = st.integers(30, 3_000).map(lambda n: json.loads("[" * n + "]" * n) if n < 900 else "[" * n)
        payload = _mutate(payload, list(path), data.draw(st.just(...) | json_values | with_nul | deep))
    kind = data.draw(st.sampled_from(["interactive", "json_event", "command"]))
    if kind == "interactive":
        body, content_type = interactive_body(payload), "application/x-www-form-urlencoded"
    elif kind == "json_event":
        body, content_type = (
            json.dumps({"type": "event_callback", "event_id": "EvFUZZ", "event": payload}),
            "application/json",
        )
    else:
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
        body = (
            urlencode(fields)
            if data.draw(st.booleans())
            else slash_command_body(
                command="/leadstats",
                text=json.dumps(payload)[:200],
                user_id="U0SDR1",
                response_url=bot.slack.response_url("fuzz"),
            )
        )
        content_type = "application/x-www-form-urlencoded"

    status, raw, _ = post_signed(f"{bot.url}/slack/events", body, SIGNING_SECRET, content_type)

    event(f"{kind} answered {status}")
    assert status < 500, raw
    # A touch is all or nothing: each lead's count and its log agree (one statement, so one snapshot, even
    # while a click acked a moment ago is still being committed).
    logged = (
        select(func.count())
        .select_from(Activity)
        .where(Activity.lead_id == Lead.id, Activity.kind == "touch")
        .correlate(Lead)
        .scalar_subquery()
    )
    with read_session(bot.engine) as session:
        assert session.exec(select(func.count()).select_from(Lead).where(Lead.touch_count != logged)).one() == 0
