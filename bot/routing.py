"""Who gets a new lead: round robin over active SDRs, with a fallback so no lead is ownerless."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.config import Config
from store import routing as rotation_store

SDR_POOL = "sdr"


@dataclass(frozen=True)
class Assignment:
    owner_id: str
    reason: str


def next_in_rotation(order: list[str], eligible: set[str], last: str | None) -> tuple[str, int] | None:
    """The first eligible rep after `last` in config order, with its 1-based place among the eligible.

    Walking the full order (not just the eligible list) keeps turns fair when reps come and go:
    a rep who returns from being inactive slots back into their usual place.
    """
    candidates = [rep for rep in order if rep in eligible]
    if not candidates:
        return None
    start = order.index(last) + 1 if last in order else 0
    for offset in range(len(order)):
        rep = order[(start + offset) % len(order)]
        if rep in eligible:
            return rep, candidates.index(rep) + 1
    return None


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def assign_new_lead(session: Session, config: Config) -> Assignment:
    """Pick the owner inside the caller's transaction; the rotation row is locked until it commits."""
    sdrs = config.members_with_role("sdr")
    eligible = {m.slack_id for m in sdrs if m.active}
    skipped = [m.name for m in sdrs if not m.active]
    state = rotation_store.lock_rotation(session, SDR_POOL)
    picked = next_in_rotation([m.slack_id for m in sdrs], eligible, state.last_slack_id)
    if picked is None:
        fallback = config.member(config.routing.fallback)
        return Assignment(fallback.slack_id, f"No SDR is available, so it went to the fallback owner ({fallback.name})")
    owner, place = picked
    rotation_store.record_turn(session, state, owner)
    reason = f"Round robin over active SDRs: {ordinal(place)} of {len(eligible)}"
    if skipped:
        reason += f" (skipped, inactive: {', '.join(skipped)})"
    return Assignment(owner, reason)
