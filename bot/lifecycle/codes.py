"""The codes people pick in Slack: how a lead was contacted, and why it was disqualified or sent back."""

from __future__ import annotations

from enum import StrEnum


class ContactMethod(StrEnum):
    CALL = "call"
    EMAIL = "email"
    LINKEDIN = "linkedin"
    MEETING = "meeting"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"call": "Call", "email": "Email", "linkedin": "LinkedIn", "meeting": "Meeting", "other": "Other"}[
            self.value
        ]


# Where a touch was logged: the Slack button (no source), a CRM, or a tool named by the touch API's caller.
_SOURCE_LABELS = {"slack": "Slack", "hubspot": "HubSpot", "salesforce": "Salesforce"}


def where_logged(source: str | None) -> str:
    """ "in Slack", "in HubSpot", "in Outreach", "through the API"."""
    if not source:
        return "in Slack"
    if source.lower() == "api":
        return "through the API"
    return f"in {_SOURCE_LABELS.get(source.lower(), source)}"


DISQUALIFY_REASONS = {
    "personal_email": "Personal email",
    "student": "Student",
    "not_icp": "Not ICP",
    "no_budget": "No budget",
    "competitor": "Competitor",
    "duplicate": "Duplicate",
    "other": "Other",
}
REJECT_REASONS = {
    "not_icp": "Not ICP",
    "no_budget": "No budget",
    "bad_timing": "Bad timing",
    "duplicate": "Duplicate",
    "needs_qualification": "Needs more qualification",
    "other": "Other",
}
