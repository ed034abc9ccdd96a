"""The config's sections about what a lead is worth: scoring and the ICP, sources, qualification, opportunity."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    ConfigDict,
    Field,
    field_validator,
)

from bot.core.config_types import SizeRange, StrictModel

FREE_EMAIL_DOMAINS = [
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "web.de",
    "mail.com",
    "yandex.com",
    "yandex.ru",
    "zoho.com",
    "qq.com",
    "163.com",
]


class IcpConfig(StrictModel):
    """The ideal customer profile; each dimension that a lead matches earns `scoring.icp_match`."""

    industries: list[str] = []
    company_size: SizeRange | None = None
    regions: list[str] = []
    seniority: list[str] = []


class ScoringConfig(StrictModel):
    icp_match: int = 15
    demo_request: int = 10
    pricing_page: int = 5
    free_email: int = -10
    mql_threshold: int = 40
    hot_on_demo_request: bool = True
    icp: IcpConfig = IcpConfig()
    pricing_page_paths: list[str] = ["/pricing"]
    free_email_domains: list[str] = FREE_EMAIL_DOMAINS


class QualificationField(StrictModel):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
    label: Annotated[str, Field(min_length=1, max_length=100)]
    required: bool = True


class QualificationConfig(StrictModel):
    """What Qualify as SQL asks for, beside the qualification notes (always required)."""

    fields: list[QualificationField] = [
        QualificationField(id="need", label="Need / pain"),
        QualificationField(id="budget", label="Budget range"),
        QualificationField(id="timeline", label="Timeline"),
        QualificationField(id="decision_maker", label="Decision maker"),
    ]

    @field_validator("fields")
    @classmethod
    def _ids_unique(cls, fields: list[QualificationField]) -> list[QualificationField]:
        ids = [f.id for f in fields]
        if len(ids) != len(set(ids)):
            raise ValueError("each field id may appear once")
        if "notes" in ids:
            raise ValueError("'notes' is built in; choose another id")
        return fields


class OpportunityConfig(StrictModel):
    """Fields an opportunity must have; Accept asks the AE for the ones not already known."""

    required_fields: list[QualificationField] = []


STANDARD_SOURCES = [
    "Paid Search",
    "Paid Social",
    "Organic Search",
    "Website",
    "Email",
    "Referral",
    "Events",
    "Partner",
    "Content",
    "Direct",
    "Outbound",
    "Organic Social",
    "Advertising",
    "Purchased List",
    "Offline",
]


class SourceRule(StrictModel):
    """Every given key must match (case-insensitive; `page`: any visited page containing it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    source: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    page: str | None = None
    as_: Annotated[str, Field(alias="as", min_length=1, max_length=100)]


DEFAULT_SOURCE_MAP = [
    SourceRule(utm_source="google", utm_medium="cpc", as_="Paid Search"),
    SourceRule(utm_source="bing", utm_medium="cpc", as_="Paid Search"),
    SourceRule(utm_source="linkedin", utm_medium="paid", as_="Paid Social"),
    SourceRule(utm_source="facebook", utm_medium="paid", as_="Paid Social"),
    SourceRule(utm_medium="organic", as_="Organic Search"),
    SourceRule(utm_medium="email", as_="Email"),
    SourceRule(utm_medium="referral", as_="Referral"),
    SourceRule(source="webinar", as_="Events"),
    SourceRule(source="content download", as_="Content"),
    SourceRule(source="web", as_="Website"),
    SourceRule(page="/contact", as_="Website"),
    # HubSpot's Original Source (hs_analytics_source, as its labels read) ...
    SourceRule(source="Email Marketing", as_="Email"),
    SourceRule(source="Social Media", as_="Organic Social"),
    SourceRule(source="Referrals", as_="Referral"),
    SourceRule(source="AI Referrals", as_="Referral"),
    SourceRule(source="Direct Traffic", as_="Direct"),
    SourceRule(source="Offline Sources", as_="Offline"),
    SourceRule(source="Offline", as_="Offline"),
    # ... and Salesforce's standard Lead Source values (Web is mapped above; Purchased List is a standard name).
    SourceRule(source="Phone Inquiry", as_="Direct"),
    SourceRule(source="Partner Referral", as_="Partner"),
    SourceRule(source="Employee Referral", as_="Referral"),
    SourceRule(source="External Referral", as_="Referral"),
    SourceRule(source="Trade Show", as_="Events"),
    SourceRule(source="Seminar - Internal", as_="Events"),
    SourceRule(source="Seminar - Partner", as_="Partner"),
    SourceRule(source="Advertisement", as_="Advertising"),
]


class SourcesConfig(StrictModel):
    standard: list[str] = STANDARD_SOURCES
    map: list[SourceRule] = DEFAULT_SOURCE_MAP
    unknown_alert_share: Annotated[float, Field(ge=0, le=1)] = 0.05  # the playbook's red flag
