"""The `crm:` section: which CRM Leadbot writes back to, what it writes, and how its values map.

Absent, Leadbot writes to no CRM (exactly as before). The defaults fit a fresh HubSpot portal (its default
lead statuses, lifecycle stages and sales pipeline) and a fresh Salesforce org (its default Lead statuses
and opportunity stages), so a team that kept those needs only `system:`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from bot.core.config_types import Duration, StrictModel

STAGES = ("new", "attempting_contact", "engaged", "mql", "sql", "accepted", "disqualified")
LIFECYCLES = ("lead", "mql", "sql", "opportunity")
CONTACT_METHODS = ("call", "email", "linkedin", "other")


class CrmWrites(StrictModel):
    """Each kind of write can be turned off (a team whose CRM workflow sets the status itself, say)."""

    records: bool = True  # find (by email) or create the record of a lead that did not come from the CRM
    owner: bool = True  # the owner, on assignment and every reassignment
    touches: bool = True  # each touch as an activity on the record
    stages: bool = True  # status and lifecycle changes, with a note (Engaged, MQL, SQL, Disqualify, Reject)
    deals: bool = True  # the deal / opportunity when an AE accepts


class StampFields(StrictModel):
    """CRM properties (fields) the admin created for Leadbot to fill in; each left out is not written."""

    lead_id: str | None = None
    routing_reason: str | None = None
    first_touch_due: str | None = None


def _check_keys(mapping: dict[str, str], allowed: tuple[str, ...], name: str) -> None:
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise ValueError(f"crm.{name}: {unknown[0]!r} is not one of {', '.join(allowed)}")


class HubSpotConfig(StrictModel):
    # For the "Open in HubSpot" links (Settings > Account details); without it, no links.
    portal_id: Annotated[str, Field(pattern=r"^\d{1,12}$")] | None = None
    app_url: str = "https://app.hubspot.com"
    # Leadbot stage → hs_lead_status option (the portal's defaults).
    lead_status: dict[str, str] = {
        "new": "NEW",
        "attempting_contact": "ATTEMPTED_TO_CONTACT",
        "engaged": "CONNECTED",
        "mql": "OPEN",
        "sql": "IN_PROGRESS",
        "accepted": "OPEN_DEAL",
        "disqualified": "UNQUALIFIED",
    }
    # Leadbot lifecycle → lifecyclestage (only ever moved forward, as HubSpot requires).
    lifecycle_stage: dict[str, str] = {
        "lead": "lead",
        "mql": "marketingqualifiedlead",
        "sql": "salesqualifiedlead",
        "opportunity": "opportunity",
    }
    # How a touch is logged: a call, an email or a note engagement.
    touch_activity: dict[str, Literal["call", "email", "note"]] = {
        "call": "call",
        "email": "email",
        "linkedin": "note",
        "other": "note",
    }
    pipeline: str = "default"
    deal_stage: str = "appointmentscheduled"  # the first stage of a fresh portal's sales pipeline
    close_date_in: Duration = timedelta(days=30)

    @model_validator(mode="after")
    def _known_keys(self) -> HubSpotConfig:
        _check_keys(self.lead_status, STAGES, "hubspot.lead_status")
        _check_keys(self.lifecycle_stage, LIFECYCLES, "hubspot.lifecycle_stage")
        _check_keys(self.touch_activity, CONTACT_METHODS, "hubspot.touch_activity")
        return self


class SalesforceConfig(StrictModel):
    api_version: Annotated[str, Field(pattern=r"^\d{2,3}\.0$")] = "62.0"
    # Also look for an existing Contact by email when no Lead has it (the person is already a customer's).
    search_contacts: bool = False
    # Leadbot stage → Lead.Status (a fresh org's picklist). `accepted` is left out: "Closed - Converted" is
    # for real conversions, which REST cannot do (bot/crm/salesforce.py says what Accept writes instead).
    lead_status: dict[str, str] = {
        "new": "Open - Not Contacted",
        "attempting_contact": "Working - Contacted",
        "engaged": "Working - Contacted",
        "mql": "Working - Contacted",
        "sql": "Working - Contacted",
        "disqualified": "Closed - Not Converted",
    }
    opportunity_stage: str = "Qualification"
    close_date_in: Duration = timedelta(days=30)

    @model_validator(mode="after")
    def _known_keys(self) -> SalesforceConfig:
        _check_keys(self.lead_status, STAGES, "salesforce.lead_status")
        return self


class CrmConfig(StrictModel):
    system: Literal["hubspot", "salesforce"]
    write: CrmWrites = CrmWrites()
    stamp_fields: StampFields = StampFields()
    hubspot: HubSpotConfig = HubSpotConfig()
    salesforce: SalesforceConfig = SalesforceConfig()
    # A write that keeps failing (the CRM down) is retried this long, then kept as failed for `outbox retry`.
    give_up_after: Duration = timedelta(hours=24)
