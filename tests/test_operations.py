"""The operator's view: Prometheus metrics at GET /metrics and one log line per event, personal data masked."""

from __future__ import annotations

import io
import json
import logging
import re
import urllib.request
from datetime import timedelta

import pytest

from bot.core.logs import JsonLines, MaskPersonalData, TextWithFields, configure_logging, mask_personal_data
from bot.runtime.scheduler import BackgroundJobs
from tests.conftest import eventually


def _metrics(bot) -> dict[str, float]:
    with urllib.request.urlopen(f"{bot.url}/metrics") as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_count_leads_alerts_breaches_slack_errors_and_show_the_outbox(bot):
    bot.slack.fail_next("chat.postMessage", status=200, error="channel_not_found")  # the first alert fails for good
    for email in ("a@acme.com", "b@globex.com", "a@acme.com"):  # the third is the first again: a duplicate
        bot.post_lead({"email": email})
    bot.post_lead({"email": "not an email"})
    bot.post_lead({"email": "c@initech.com"}, token="wrong")
    eventually(lambda: len(bot.slack.calls_to("chat.postMessage", ok=None)) >= 3)  # 2 alerts + the notice

    eventually(lambda: _metrics(bot).get("leadbot_alerts_sent_total") == 1.0)
    bot.leadbot.relay.stop()  # what the sweep queues now stays queued, to be seen in the outbox gauges
    jobs = BackgroundJobs(bot.engine, bot.leadbot.config, bot.clock, metrics=bot.leadbot.metrics)
    bot.clock.advance(timedelta(minutes=16))  # both leads miss the 15-minute first touch
    jobs.run_sweep()

    m = _metrics(bot)
    assert m["leadbot_alerts_sent_total"] == 1
    assert m['leadbot_leads_received_total{result="created"}'] == 2
    assert m['leadbot_leads_received_total{result="duplicate"}'] == 1
    assert m['leadbot_leads_received_total{result="invalid"}'] == 1
    assert m['leadbot_leads_received_total{result="unauthorized"}'] == 1
    assert m["leadbot_intake_duration_seconds_count"] == 3
    assert m['leadbot_slack_api_errors_total{error="channel_not_found",method="chat.postMessage"}'] == 1
    assert m['leadbot_sla_breaches_total{sla="first_touch"}'] == 2
    assert m['leadbot_sla_timer_firings_total{outcome="breached"}'] == 2
    assert m["leadbot_sweep_duration_seconds_count"] == 1
    # The breach notices wait in the outbox; the first alert (and what would edit it) failed for good.
    assert m["leadbot_outbox_pending"] >= 2 and m["leadbot_outbox_failed"] >= 1
    # The oldest waiting call is an App Home refresh queued at intake (due 30 s later), 16 minutes ago.
    assert m["leadbot_outbox_oldest_pending_seconds"] == 16 * 60


@pytest.fixture
def captured_log():
    stream = io.StringIO()
    root, handlers, level = logging.getLogger(), logging.getLogger().handlers[:], logging.getLogger().level
    yield stream
    root.handlers[:], root.level = handlers, level


def test_json_logs_have_one_line_per_lead_with_its_id_action_and_latency_and_no_email(bot, captured_log):
    configure_logging("json", force=True)
    logging.getLogger().handlers[0].setStream(captured_log)

    _, body = bot.post_lead({"email": "sam.rivera@acme.com", "phone": "+1 (555) 123-4567"})
    logging.getLogger("leadbot.test").warning("lead %s called back from %s", "sam.rivera@acme.com", "555-123-4567")

    lines = [json.loads(line) for line in captured_log.getvalue().splitlines()]
    received = next(line for line in lines if line.get("action") == "lead_created")
    assert received["lead_id"] == body["id"] and received["owner"] == "U0SDR1" and received["latency_ms"] > 0
    assert received["event"] == "lead received" and received["level"] == "info"
    assert "sam.rivera@acme.com" not in captured_log.getvalue() and "123-4567" not in captured_log.getvalue()
    assert lines[-1]["event"] == "lead s***@acme.com called back from ***67"


def test_the_text_form_keeps_the_fields_and_masks_them_too():
    record = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "msg": "from %s", "args": ("ana@globex.com",), "email": "ana@globex.com"}
    )
    MaskPersonalData().filter(record)
    line = TextWithFields().format(record)
    assert re.search(r"x: from a\*\*\*@globex\.com email=a\*\*\*@globex\.com$", line)
    assert json.loads(JsonLines().format(record))["email"] == "a***@globex.com"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("+44 20 7946 0958", "***58"),
        ("(555) 123 4567", "***67"),
        ("at 2026-11-23 14:00:00", "at 2026-11-23 14:00:00"),  # a date is not a phone number
        ("ts 1595926230.009600", "ts 1595926230.009600"),  # nor a Slack timestamp
        ("lead 1234567", "lead 1234567"),  # nor an id
    ],
)
def test_what_counts_as_a_phone_number(text, shown):
    assert mask_personal_data(text) == shown
