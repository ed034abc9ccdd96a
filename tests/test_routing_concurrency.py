"""Atomic rotation under concurrent intake, through the real HTTP server and database."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from tests.conftest import MINIMAL_CONFIG, make_config


@pytest.fixture
def bot_config():
    four = [{"slack_id": f"U0SDR{i}", "name": f"Rep {i}", "role": "sdr"} for i in range(1, 5)]
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["team"] = four + [data["team"][3]]
    return make_config(**data)


def test_concurrent_leads_never_skip_or_double_a_rep(bot):
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda i: bot.post_lead({"email": f"rush{i}@acme{i}.com"}), range(200)))

    assert {status for status, _ in answers} == {201}
    assert Counter(body["owner"] for _, body in answers) == {f"U0SDR{i}": 50 for i in range(1, 5)}
    # Ordered by id, the owners follow the rotation exactly: no rep was skipped or given two turns in a row.
    by_id = [body["owner"] for _, body in sorted(answers, key=lambda a: a[1]["id"])]
    assert by_id == [f"U0SDR{i % 4 + 1}" for i in range(200)]


def test_the_same_new_email_posted_at_once_makes_one_lead(bot):
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: bot.post_lead({"email": "twin@acme.com"}), range(8)))

    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert len({body["id"] for _, body in answers}) == 1
