"""Action ids and the typed values our interactive elements carry."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class LeadAction(StrEnum):
    CONTACTED = "lead.contacted"


class EscalationAction(StrEnum):
    REASSIGN_NOW = "escalation.reassign_now"
    TAKE_IT = "escalation.take_it"


class ContactMethod(StrEnum):
    CALL = "call"
    EMAIL = "email"
    LINKEDIN = "linkedin"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"call": "Call", "email": "Email", "linkedin": "LinkedIn", "other": "Other"}[self.value]


class ContactChoice(BaseModel):
    """The value of one option in the Contacted menu (Slack allows 150 characters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lead_id: int
    via: ContactMethod
    touch: int = 1  # the touch this choice records: 1 is the first touch


class EscalationChoice(BaseModel):
    """The value of the buttons on an escalation: which lead, and which idle period it was about."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lead_id: int
    period: int
