"""Action ids and the typed values our interactive elements carry."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bot.lifecycle.codes import ContactMethod


class LeadAction(StrEnum):
    CONTACTED = "lead.contacted"
    ENGAGED = "lead.engaged"
    QUALIFY = "lead.qualify"
    DISQUALIFY = "lead.disqualify"
    CLAIM = "lead.claim"
    OPEN_IN_CRM = "lead.open_in_crm"  # a link button: Slack opens the URL and tells us, and we only ack


class HandoffAction(StrEnum):
    ACCEPT = "handoff.accept"
    REJECT = "handoff.reject"


class Modal(StrEnum):
    """callback_id of each modal Leadbot opens."""

    QUALIFY = "lead.qualify_modal"
    DISQUALIFY = "lead.disqualify_modal"
    ACCEPT = "handoff.accept_modal"
    REJECT = "handoff.reject_modal"


class EscalationAction(StrEnum):
    REASSIGN_NOW = "escalation.reassign_now"
    TAKE_IT = "escalation.take_it"


# Ids as the database can hold them (a 32-bit key): anything else in a button is tampered with or garbled.
LeadId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Counter = Annotated[int, Field(ge=0, le=2**31 - 1)]


class ContactChoice(BaseModel):
    """The value of one option in the Contacted menu (Slack allows 150 characters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lead_id: LeadId
    via: ContactMethod
    touch: Annotated[int, Field(ge=1, le=2**31 - 1)] = 1  # the touch this choice records: 1 is the first touch


class EscalationChoice(BaseModel):
    """The value of the buttons on an escalation: which lead, and which idle period it was about."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lead_id: LeadId
    period: Counter


class LeadRef(BaseModel):
    """Button value and modal private_metadata: which lead, and the stage the message showed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lead_id: LeadId
    stage: Annotated[str, Field(max_length=32)]
