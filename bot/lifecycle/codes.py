"""The codes people pick in Slack: how a lead was contacted, and why it was disqualified or sent back."""

from __future__ import annotations

from enum import StrEnum


class ContactMethod(StrEnum):
    CALL = "call"
    EMAIL = "email"
    LINKEDIN = "linkedin"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"call": "Call", "email": "Email", "linkedin": "LinkedIn", "other": "Other"}[self.value]


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
