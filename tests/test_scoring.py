"""The playbook's scoring model and its configurable numbers."""

from __future__ import annotations

import pytest

from bot.core.config_scoring import IcpConfig, ScoringConfig
from bot.intake.scoring import ScoringInput, company_size_bounds, score_lead

ICP = IcpConfig(
    industries=["Software"], company_size={"min": 50, "max": 5000}, regions=["US", "EMEA"], seniority=["vp", "director"]
)


def test_the_default_model_adds_up_each_rule_and_says_why():
    lead = ScoringInput(
        email_domain="northwind.io",
        industry="software",
        company_size="201-500",
        country="US",
        title="VP Sales",
        demo_request=True,
        pages_visited=("https://x.io/pricing?plan=pro",),
    )

    score = score_lead(lead, ScoringConfig(icp=ICP))

    assert [(r.rule, r.points) for r in score.reasons] == [
        ("icp_industry", 15),
        ("icp_company_size", 15),
        ("icp_region", 15),
        ("icp_seniority", 15),
        ("demo_request", 10),
        ("pricing_page", 5),
    ]
    assert score.points == 75 and score.mql and score.hot


def test_a_free_email_costs_ten_points_and_nothing_else_applies():
    score = score_lead(ScoringInput(email_domain="gmail.com", title="Student"), ScoringConfig(icp=ICP))

    assert score.points == -10
    assert [r.detail for r in score.reasons] == ["Free email domain (gmail.com)"]
    assert not score.mql and not score.hot


def test_every_number_is_configurable():
    config = ScoringConfig(
        icp=ICP,
        icp_match=20,
        demo_request=30,
        pricing_page=1,
        free_email=-50,
        mql_threshold=50,
        free_email_domains=["corp-free.com"],
        hot_on_demo_request=False,
    )
    lead = ScoringInput(email_domain="corp-free.com", industry="Software", demo_request=True, pricing_page_visit=True)

    score = score_lead(lead, config)

    assert score.points == 20 + 30 + 1 - 50
    assert not score.mql and not score.hot


def test_the_mql_threshold_is_inclusive():
    config = ScoringConfig(icp=ICP, mql_threshold=40)
    lead = ScoringInput(email_domain="x.io", industry="Software", country="EMEA", demo_request=True)
    assert score_lead(lead, config).points == 40 and score_lead(lead, config).mql


def test_without_an_icp_no_icp_points_are_given():
    lead = ScoringInput(email_domain="x.io", industry="Software", company_size="100", country="US", title="VP")
    assert score_lead(lead, ScoringConfig()).points == 0


@pytest.mark.parametrize(
    ("size", "bounds"),
    [
        ("51-200", (51, 200)),
        ("1,000+", (1000, None)),
        ("75", (75, 75)),
        ("10 to 20", (10, 20)),
        ("huge", None),
        (None, None),
    ],
)
def test_company_size_is_read_from_the_usual_band_formats(size, bounds):
    assert company_size_bounds(size) == bounds


def test_a_company_size_band_outside_the_icp_range_scores_nothing():
    config = ScoringConfig(icp=ICP)
    assert score_lead(ScoringInput(email_domain="x.io", company_size="1-10"), config).points == 0
    assert score_lead(ScoringInput(email_domain="x.io", company_size="10000+"), config).points == 0
    assert score_lead(ScoringInput(email_domain="x.io", company_size="30-60"), config).points == 15
