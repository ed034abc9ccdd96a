"""The YAML config: the smallest file works as written; a bad one stops with one clear message."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.core.config import ConfigError, load_config, parse_config
from bot.runtime.cli import main
from tests.conftest import MINIMAL_CONFIG

ROOT = Path(__file__).parent.parent


def test_the_smallest_file_works_exactly_as_written_with_playbook_defaults(tmp_path):
    path = tmp_path / "leadbot.yml"
    path.write_text(MINIMAL_CONFIG)

    config = load_config(path)

    assert config.timezone == "America/New_York"
    assert [m.slack_id for m in config.members_with_role("sdr")] == ["U0SDR1", "U0SDR2"]
    assert config.sla.first_touch == timedelta(minutes=15) and config.sla.first_touch_hot == timedelta(minutes=5)
    assert config.sla.escalate_after == timedelta(hours=2) and config.sla.reassign_after == timedelta(days=1)
    assert config.sla.ae_response == timedelta(hours=4) and config.sla.max_reassignments == 2
    scoring = config.scoring
    assert (
        scoring.icp_match,
        scoring.demo_request,
        scoring.pricing_page,
        scoring.free_email,
        scoring.mql_threshold,
    ) == (15, 10, 5, -10, 40)
    assert "gmail.com" in scoring.free_email_domains
    assert config.routing.fallback == "U0MGR1"


def test_the_shipped_example_file_is_valid():
    config = load_config(ROOT / "leadbot.example.yml")
    assert config.member("U0SDR3").active is False


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (lambda d: d.update(colour="teal"), "colour", "unknown key"),
        (lambda d: d["sla"].update(frist_touch="15m"), "sla.frist_touch", "unknown key"),
        (lambda d: d["sla"].update(first_touch="15x"), "sla.first_touch", "'15x' is not a duration"),
        (lambda d: d["sla"].update(escalate_after="0m"), "sla.escalate_after", "is not a duration"),
        (lambda d: d["team"][2].update(role="closer"), "team[2].role", "'closer' is not one of"),
        (lambda d: d["team"].append(dict(d["team"][0])), "team", "U0SDR1 is listed twice"),
        (lambda d: d["channels"].pop("handoffs"), "channels.handoffs", "required, but missing"),
        (lambda d: d.pop("channels"), "channels", "required, but missing"),
        (lambda d: d["routing"].update(fallback="U0NOBODY"), "routing.fallback", "U0NOBODY is not on the team"),
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone", "'Mars/Olympus' is not a time zone"),
        (lambda d: d["team"][0].update(slack_id="sam"), "team[0].slack_id", "does not look like a Slack id"),
    ],
    ids=[
        "unknown-key",
        "misspelt-nested-key",
        "bad-duration",
        "zero-duration",
        "unknown-role",
        "rep-twice",
        "missing-channel",
        "missing-channels",
        "fallback-not-on-team",
        "bad-timezone",
        "bad-slack-id",
    ],
)
def test_a_bad_file_gives_one_message_naming_the_file_the_key_and_the_problem(change, key, problem):
    data = copy.deepcopy(yaml.safe_load(MINIMAL_CONFIG))
    change(data)

    with pytest.raises(ConfigError) as caught:
        parse_config(data, "leadbot.yml")

    assert str(caught.value) == f"leadbot.yml: {key}: {caught.value.args[0].split(': ', 2)[2]}"
    assert problem in str(caught.value)


def test_several_problems_are_listed_in_the_one_message():
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["sla"]["first_touch"] = "soon"
    data["team"][0]["role"] = "boss"

    with pytest.raises(ConfigError) as caught:
        parse_config(data, "leadbot.yml")

    message = str(caught.value)
    assert message.startswith("leadbot.yml has 2 problems:")
    assert "team[0].role" in message and "sla.first_touch" in message


@pytest.mark.parametrize(("content", "problem"), [("team: [", "not valid YAML"), ("- just a list", "YAML mapping")])
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path, content, problem):
    path = tmp_path / "leadbot.yml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=problem):
        load_config(path)


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "leadbot.yml"
    path.write_text(text)
    return path


def test_check_config_says_ok_for_a_good_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LEADBOT_CONFIG", str(_write(tmp_path, MINIMAL_CONFIG)))
    monkeypatch.chdir(tmp_path)

    assert main(["check-config"]) == 0
    assert "OK (2 SDRs, 1 AEs, 1 managers" in capsys.readouterr().out


def test_check_config_and_serve_stop_with_the_same_message_for_a_bad_file(tmp_path, monkeypatch, capsys):
    path = _write(tmp_path, MINIMAL_CONFIG.replace("first_touch: 15m", "first_touch: 15 minutes"))
    monkeypatch.setenv("LEADBOT_CONFIG", str(path))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-unused")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "unused")
    monkeypatch.setenv("LEADBOT_INTAKE_TOKEN", "unused")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    monkeypatch.chdir(tmp_path)

    assert main(["check-config"]) == 2
    checked = capsys.readouterr().err
    assert main(["serve"]) == 2
    served = capsys.readouterr().err

    assert checked == served
    assert f"{path}: sla.first_touch: '15 minutes' is not a duration" in checked
    assert not (tmp_path / "never.db").exists()  # nothing was started


def test_serve_names_the_missing_slack_settings(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LEADBOT_CONFIG", str(_write(tmp_path, MINIMAL_CONFIG)))
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "LEADBOT_INTAKE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN, LEADBOT_INTAKE_TOKEN, SLACK_SIGNING_SECRET" in err and "leadbot demo" in err


def test_serve_in_socket_mode_connects_through_slack_api_url_and_says_why_it_cannot(
    tmp_path, monkeypatch, capsys, fake_slack
):
    monkeypatch.setenv("LEADBOT_CONFIG", str(_write(tmp_path, MINIMAL_CONFIG)))
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.bot_token)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-revoked")
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url)
    monkeypatch.setenv("LEADBOT_INTAKE_TOKEN", "t")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'socket.db'}")
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)  # not needed in Socket Mode
    monkeypatch.chdir(tmp_path)

    assert main(["serve"]) == 2

    assert [c.method for c in fake_slack.calls] == ["apps.connections.open"]
    assert "Socket Mode could not connect: Slack answered 'invalid_auth'" in capsys.readouterr().err


def test_the_worker_needs_a_bot_token_and_a_good_config(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LEADBOT_CONFIG", str(_write(tmp_path, MINIMAL_CONFIG)))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)

    assert main(["worker"]) == 2
    assert "set SLACK_BOT_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        ({"open": "18:00", "close": "09:00"}, "close must be later than open"),
        ({"open": "9am"}, "'9am' is not a time of day"),
        ({"days": ["mon", "funday"]}, "'funday' is not one of"),
        ({"holidays": "XX"}, "no holiday calendar for 'XX'"),
    ],
    ids=["close-before-open", "bad-time", "bad-day", "bad-holidays"],
)
def test_bad_business_hours_are_named(hours, problem):
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["sla"]["business_hours"] = hours
    with pytest.raises(ConfigError, match=problem):
        parse_config(data, "leadbot.yml")


def test_business_hours_as_yaml_writes_them(tmp_path):
    text = MINIMAL_CONFIG.replace(
        "ae_response: 4h}", "ae_response: 4h, business_hours: {open: 08:30, close: 17:00, holidays: US}}"
    )
    config = load_config(_write(tmp_path, text))
    hours = config.sla.business_hours
    assert (hours.open.isoformat(), hours.close.isoformat(), hours.holidays) == ("08:30:00", "17:00:00", "US")


@pytest.mark.parametrize(
    ("stages", "problem"),
    [
        ({"won": {"escalate_after": "2h"}}, "sla.stages.won"),
        ({"engaged": {"escalate_after": "soon"}}, "'soon' is not an idle limit: write e.g. 2h, 1d, 2bd"),
        ({"engaged": {"reassign_after": "0bd"}}, "'0bd' is not an idle limit"),
        ({"engaged": {"escalate_afer": "2h"}}, "escalate_afer"),
    ],
    ids=["unknown-stage", "bad-limit", "zero-days", "typo"],
)
def test_bad_idle_limits_per_stage_are_named(stages, problem):
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["sla"]["stages"] = stages
    with pytest.raises(ConfigError, match=problem):
        parse_config(data, "leadbot.yml")


def test_idle_limits_per_stage_default_to_a_cadence_and_new_keeps_the_playbook():
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["sla"]["stages"] = {"engaged": {"escalate_after": "4h", "reassign_after": "3d"}}
    sla = parse_config(data, "leadbot.yml").sla

    assert [tuple(map(str, sla.idle_limits(s))) for s in ("new", "attempting_contact", "engaged", "mql")] == [
        ("2h", "1d"),
        ("2bd", "None"),
        ("4h", "3d"),
        ("2bd", "None"),
    ]


def test_check_config_warns_of_routing_typos_an_empty_pool_and_unused_tags(tmp_path, monkeypatch, capsys):
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["team"][0]["territories"] = ["EMEA"]
    data["team"][1]["territories"] = ["NA"]
    data["routing"]["rules"] = [
        {"name": "Europe", "match": {"region": ["EMAE"]}, "pool": {"territories": ["EMAE"]}},
    ]
    monkeypatch.setenv("LEADBOT_CONFIG", str(_write(tmp_path, yaml.safe_dump(data))))
    monkeypatch.chdir(tmp_path)

    assert main(["check-config"]) == 0  # valid, but not what was meant:
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: rule 'Europe': no SDR carries the territory 'EMAE' in its pool (did you mean 'EMEA'?)",
        "warning: rule 'Europe': its pool is empty, so its leads go to the fallback",
        "warning: rule 'Europe': 'EMAE' is not a sales region (did you mean 'EMEA'?)",
        "warning: territory 'EMEA' (Sam Rivera) is used by no rule",
        "warning: territory 'NA' (Ana Silva) is used by no rule",
    ]


def test_check_config_has_no_routing_warning_for_a_sound_file(tmp_path, monkeypatch, capsys):
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["team"][0]["territories"] = ["EMEA"]
    data["routing"]["rules"] = [{"name": "Europe", "match": {"region": ["EMEA"]}, "pool": {"territories": ["EMEA"]}}]
    monkeypatch.setenv("LEADBOT_CONFIG", str(_write(tmp_path, yaml.safe_dump(data))))
    monkeypatch.chdir(tmp_path)

    assert main(["check-config"]) == 0
    assert "warning:" not in capsys.readouterr().out
