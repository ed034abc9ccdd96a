"""What a click on a lead comes to, besides success: typed results the handlers answer, and domain errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from store.models import Lead, Stage


class LeadbotError(Exception):
    """A domain error with a message fit to show the person who clicked."""

    def __init__(self, user_message: str):
        super().__init__(user_message)
        self.user_message = user_message


class LeadNotFound(LeadbotError):
    def __init__(self, lead_id: int):
        super().__init__(f"Lead #{lead_id} no longer exists, so nothing was changed.")


@dataclass(frozen=True)
class Done:
    lead: Lead


@dataclass(frozen=True)
class NotAllowed:
    owner_id: str  # who may (the owner, or the assigned AE)


@dataclass(frozen=True)
class Outdated:
    """The lead moved on since the message was drawn; says where it is now."""

    stage: str
    detail: str


@dataclass(frozen=True)
class Invalid:
    errors: dict[str, str] = field(default_factory=dict)  # input block_id → message, shown on the modal


def outdated(lead: Lead) -> Outdated:
    if lead.stage == Stage.ACCEPTED:
        detail = f"<@{lead.outcome.get('by', lead.ae_id)}> already accepted it"
    elif lead.stage == Stage.DISQUALIFIED:
        detail = f"<@{lead.outcome.get('by')}> already disqualified it ({lead.outcome.get('label', '')})"
    elif lead.stage == Stage.SQL:
        detail = f"it is already an SQL waiting for <@{lead.ae_id}>"
    else:
        detail = f"it is now {Stage(lead.stage).label}"
    return Outdated(stage=lead.stage, detail=detail)
