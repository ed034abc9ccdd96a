"""Source attribution and campaign names, as intake stores them."""

from __future__ import annotations

import pytest
import yaml

from bot.core.config import SourcesConfig, parse_config
from bot.intake.accept import accept_lead, parse_lead
from bot.intake.sources import attribute_source, normalise_campaign
from bot.runtime.app import prepare_database
from tests.conftest import MINIMAL_CONFIG, make_config

DEFAULTS = SourcesConfig()


@pytest.mark.parametrize(
    ("lead", "source"),
    [
        ({"utm_source": "Google", "utm_medium": "CPC"}, "Paid Search"),
        ({"utm_source": "linkedin", "utm_medium": "paid"}, "Paid Social"),
        ({"utm_medium": "email"}, "Email"),
        ({"pages": ("https://acme.io/contact?x=1",)}, "Website"),
        ({"source": "website"}, "Website"),  # a standard name is taken as it is
        ({"source": "Webinar"}, "Events"),
        ({"source": "Carrier pigeon"}, "Unknown"),
        ({}, "Unknown"),
    ],
    ids=["google-cpc", "linkedin-paid", "email", "contact-page", "standard-name", "mapped-source", "unmapped", "none"],
)
def test_the_default_map(lead, source):
    args = {"source": None, "utm_source": None, "utm_medium": None, "pages": ()} | lead
    assert attribute_source(DEFAULTS, **args) == source


def test_the_map_is_configurable_and_first_match_wins():
    data = yaml.safe_load(MINIMAL_CONFIG)
    data["sources"] = {"map": [{"utm_source": "g2", "as": "Referral"}, {"utm_source": "g2", "as": "Partner"}]}
    config = parse_config(data, "test config")

    assert attribute_source(config.sources, source=None, utm_source="G2", utm_medium="x") == "Referral"
    assert attribute_source(config.sources, source=None, utm_source="google", utm_medium="cpc") == "Unknown"


@pytest.mark.parametrize(
    ("raw", "clean"), [("  Brand  Q4_Launch ", "brand-q4-launch"), ("brand-q4", "brand-q4"), ("", ""), (None, None)]
)
def test_campaign_names_are_normalised(raw, clean):
    assert normalise_campaign(raw) == clean


def test_intake_stores_the_standard_source_and_the_clean_campaign_keeping_the_raw_one(engine, clock):
    config = make_config()
    prepare_database(engine, config)

    lead = accept_lead(
        engine,
        config,
        clock,
        parse_lead(
            {
                "email": "a@b.io",
                "source": "adwords",
                "utm_source": "google",
                "utm_medium": "cpc",
                "utm_campaign": "Brand Q4",
            }
        ),
    ).lead

    assert (lead.source, lead.lead_source, lead.utm_campaign) == ("adwords", "Paid Search", "brand-q4")
    assert lead.extra["utm_campaign_raw"] == "Brand Q4"


@pytest.mark.parametrize(
    ("given", "standard"),
    [
        # HubSpot's Original Source, as a workflow webhook's enum becomes words (bot.intake.crm_webhooks)
        ("Organic Search", "Organic Search"), ("Paid Search", "Paid Search"), ("Email Marketing", "Email"),
        ("Social Media", "Organic Social"), ("Referrals", "Referral"), ("Ai Referrals", "Referral"),
        ("Direct Traffic", "Direct"), ("Offline", "Offline"), ("Offline Sources", "Offline"),
        ("Paid Social", "Paid Social"),
        # Salesforce's standard Lead Source picklist
        ("Web", "Website"), ("Phone Inquiry", "Direct"), ("Partner Referral", "Partner"),
        ("Employee Referral", "Referral"), ("External Referral", "Referral"), ("Trade Show", "Events"),
        ("Advertisement", "Advertising"), ("Purchased List", "Purchased List"), ("Other", "Unknown"),
    ],
)  # fmt: skip
def test_the_crms_own_source_values_map_to_standard_sources(given, standard):
    assert attribute_source(SourcesConfig(), source=given, utm_source=None, utm_medium=None) == standard


def test_a_salesforce_export_of_standard_lead_sources_is_mostly_known(engine, clock):
    config = make_config()
    prepare_database(engine, config)
    values = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other", "Trade Show", "Advertisement"]
    leads = [accept_lead(engine, config, clock, parse_lead({"email": f"p{i}@c{i}.io", "source": v})).lead
             for i, v in enumerate(values)]  # fmt: skip
    assert [lead.lead_source for lead in leads].count("Unknown") == 1  # only "Other" says nothing
