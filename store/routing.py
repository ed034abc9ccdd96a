"""Rotation state per pool, read and advanced under a row lock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from store.models import Lead, MemberStatus, Opportunity, RoutingState


def ensure_pools(session: Session, pools: list[str]) -> None:
    """Create rotation rows up front so that assignment only ever locks an existing row."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for pool in pools:
        session.exec(insert(RoutingState).values(pool=pool, assigned_count=0).on_conflict_do_nothing())


def lock_rotation(session: Session, pool: str) -> RoutingState:
    """The pool's rotation row, locked (FOR UPDATE on PostgreSQL; SQLite's write lock is already held)."""
    state = session.exec(select(RoutingState).where(RoutingState.pool == pool).with_for_update()).first()
    if state is None:
        ensure_pools(session, [pool])
        state = session.exec(select(RoutingState).where(RoutingState.pool == pool).with_for_update()).one()
    return state


def record_turn(session: Session, state: RoutingState, slack_id: str, *, owed: bool = False) -> None:
    """Count a lead for `slack_id`; an `owed` turn (see credit_back) settles a credit and leaves the pointer."""
    if owed:
        state.credits = {**state.credits, slack_id: state.credits.get(slack_id, 0) - 1}
    else:
        state.last_slack_id = slack_id
    state.assigned_count += 1
    # A new dict, so the JSON column is seen as changed.
    state.counts = {**state.counts, slack_id: state.counts.get(slack_id, 0) + 1}
    session.add(state)


def credit_back(session: Session, pool: str, slack_id: str) -> None:
    """A lead taken away from a rep no longer counts against their share of the pool: one lead fewer in their
    count (weighted pools) and one turn owed to them (round robin takes it before moving on)."""
    state = lock_rotation(session, pool)
    if state.counts.get(slack_id, 0) > 0:
        state.counts = {**state.counts, slack_id: state.counts[slack_id] - 1}
        state.credits = {**state.credits, slack_id: state.credits.get(slack_id, 0) + 1}
        session.add(state)


def open_lead_counts(session: Session, rep_ids: list[str]) -> dict[str, int]:
    """How many open leads each rep owns (capacity and load-balanced pools)."""
    if not rep_ids:
        return {}
    rows = session.exec(
        select(Lead.owner_id, func.count())
        .where(col(Lead.owner_id).in_(rep_ids), col(Lead.is_open))
        .group_by(Lead.owner_id)
    ).all()
    counts = dict.fromkeys(rep_ids, 0)
    counts.update({owner: n for owner, n in rows})
    return counts


def existing_owner_for_domain(session: Session, domain: str) -> str | None:
    """The SDR who already owns this company: an open lead from the domain, else its latest opportunity."""
    owner = session.exec(
        select(Lead.owner_id).where(Lead.domain == domain, col(Lead.is_open)).order_by(col(Lead.id).desc()).limit(1)
    ).first()
    if owner:
        return owner
    return session.exec(
        select(Opportunity.sdr_id).where(Opportunity.domain == domain).order_by(col(Opportunity.id).desc()).limit(1)
    ).first()


def existing_owners_for_domains(session: Session, domains: set[str]) -> dict[str, str | None]:
    """existing_owner_for_domain for many domains: the latest open lead's owner, else the latest opportunity's
    SDR (None: nobody works with the company yet). The latest ids first, then their owners: simple index scans,
    where a join of the two let PostgreSQL pick a nested loop over the whole table after a bulk load (7 s)."""
    owners: dict[str, str | None] = dict.fromkeys(domains)
    latest = select(Lead.domain, func.max(Lead.id)).where(col(Lead.domain).in_(domains), col(Lead.is_open))
    ids = dict(session.exec(latest.group_by(Lead.domain)).all())
    if ids:
        owner_of = dict(session.exec(select(Lead.id, Lead.owner_id).where(col(Lead.id).in_(ids.values()))).all())
        owners.update({domain: owner_of[lead_id] for domain, lead_id in ids.items()})
    rest = {domain for domain, owner in owners.items() if not owner}
    if rest:
        latest = select(Opportunity.domain, func.max(Opportunity.id)).where(col(Opportunity.domain).in_(rest))
        ids = dict(session.exec(latest.group_by(Opportunity.domain)).all())
        query = select(Opportunity.id, Opportunity.sdr_id).where(col(Opportunity.id).in_(ids.values()))
        sdr_of = dict(session.exec(query).all()) if ids else {}
        owners.update({domain: sdr_of[opportunity_id] for domain, opportunity_id in ids.items()})
    return owners


def away_members(session: Session, now: datetime) -> dict[str, datetime | None]:
    """Reps who are away now, with when they are back (None: until they say so)."""
    rows = session.exec(select(MemberStatus).where(col(MemberStatus.away))).all()
    return {r.slack_id: r.away_until for r in rows if r.away_until is None or r.away_until > now}


def set_away(session: Session, slack_id: str, *, away: bool, until: datetime | None, now: datetime, by: str) -> None:
    row = session.get(MemberStatus, slack_id) or MemberStatus(slack_id=slack_id, updated_at=now, updated_by=by)
    row.away, row.away_until, row.updated_at, row.updated_by = away, until if away else None, now, by
    session.add(row)
