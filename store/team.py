"""Team members as the config file lists them."""

from __future__ import annotations

from sqlmodel import Session, select

from store.db import one_at_a_time
from store.models import TeamMember

_TEAM_SYNC_LOCK = 0x1EAD7EA  # any fixed number, for this one purpose


def sync_team(session: Session, members: list[tuple[str, str, str, bool]]) -> None:
    """Make the team table match the config: (slack_id, name, role, active), in config order.

    Members dropped from the config stay as inactive rows, because the activity log names them. Several
    processes starting at once take turns, or both would insert the same new members.
    """
    one_at_a_time(session, _TEAM_SYNC_LOCK)
    existing = {m.slack_id: m for m in session.exec(select(TeamMember)).all()}
    listed = set()
    for position, (slack_id, name, role, active) in enumerate(members):
        row = existing.get(slack_id) or TeamMember(slack_id=slack_id, name=name, role=role)
        row.name, row.role, row.active, row.position = name, role, active, position
        session.add(row)
        listed.add(slack_id)
    for slack_id, row in existing.items():
        if slack_id not in listed and row.active:
            row.active = False
            session.add(row)
