"""Real processes on one PostgreSQL: two `leadbot serve` and a `leadbot worker`, one serve process and the
worker killed with SIGKILL mid-load and started again. Every lead that got a 2xx is there once, assigned
once and alerted once, the rotation stays even, and every SLA timer fires once.

The same run as `bench/multi_instance.py --crash` (which does 5,000 leads over three instances), small
and with SLAs of seconds so that it fits in CI.
"""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")

FAST_SLA = {"first_touch": "4s", "first_touch_hot": "3s", "escalate_after": "8s", "sweep_every": "1s"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_crash_mid_load_loses_nothing_and_does_nothing_twice(database_url):
    from bench.multi_instance import run_load

    report = run_load(database_url, leads=150, instances=2, clients=6, crash=True, sla=FAST_SLA, fresh_schema=False)

    assert report.checks and all(report.checks.values()), (report.summary, report.checks, report.workdir)
