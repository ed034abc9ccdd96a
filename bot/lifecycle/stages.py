"""The stage rules, in one place: which move a lead may make from which stage, and the guarded move itself.

Builders ask it which buttons to draw, handlers which modal to open, the rules which change to make; a
move is a conditional UPDATE on the stage it starts from, so a late or double click finds nothing to do.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlmodel import Session

from store import handoff as handoff_store
from store.models import Stage


class Move(StrEnum):
    ENGAGE = "engage"
    QUALIFY = "qualify"
    DISQUALIFY = "disqualify"
    ACCEPT = "accept"
    REJECT = "reject"


# An SDR works a lead in these stages: it is theirs to touch, and its idle clocks run.
WORKING = frozenset({Stage.NEW, Stage.ATTEMPTING_CONTACT, Stage.ENGAGED, Stage.MQL})

# move → (the stages it starts from, the stage it ends in)
TRANSITIONS: dict[Move, tuple[frozenset[Stage], Stage]] = {
    # After a first contact attempt: the prospect answered.
    Move.ENGAGE: (frozenset({Stage.ATTEMPTING_CONTACT}), Stage.ENGAGED),
    # Only a lead someone has reached out to can be qualified.
    Move.QUALIFY: (frozenset({Stage.ATTEMPTING_CONTACT, Stage.ENGAGED, Stage.MQL}), Stage.SQL),
    Move.DISQUALIFY: (WORKING, Stage.DISQUALIFIED),
    # The AE's decision on an SQL; Reject gives it back to its SDR, Engaged.
    Move.ACCEPT: (frozenset({Stage.SQL}), Stage.ACCEPTED),
    Move.REJECT: (frozenset({Stage.SQL}), Stage.ENGAGED),
}


def may(move: Move, stage: str) -> bool:
    """May a lead in `stage` make this move?"""
    return stage in TRANSITIONS[move][0]


def is_worked(stage: str) -> bool:
    """Is the lead with its SDR (touches, idle clocks, the DM's buttons)?"""
    return stage in WORKING


def move_lead(session: Session, lead_id: int, move: Move, **values: Any) -> bool:
    """Make the move if the lead is still open and where the move starts from; False when it is not (any more)."""
    starts_from, ends_in = TRANSITIONS[move]
    return handoff_store.move_stage(session, lead_id, from_stages=tuple(starts_from), stage=ends_in, **values)
