"""Leads and their activity log: lookups and guarded state transitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, insert, text, update
from sqlmodel import Session, col, select

from store.db import UTCDateTime, insert_rows, model_defaults
from store.models import Activity, Lead, Stage, StatsChange


def find_open_by_email(session: Session, email_norm: str) -> Lead | None:
    """The open lead of this address, locked for the rest of the transaction (a resubmission changes it)."""
    query = select(Lead).where(Lead.email_norm == email_norm, Lead.is_open).with_for_update()
    return session.exec(query.execution_options(populate_existing=True)).first()


def open_emails(session: Session, emails: set[str]) -> set[str]:
    """Which of these addresses have an open lead (locked for the transaction, as find_open_by_email does)."""
    if not emails:
        return set()
    query = select(Lead.email_norm).where(col(Lead.email_norm).in_(emails), col(Lead.is_open)).with_for_update()
    return set(session.exec(query).all())


def find_lead_id(session: Session, *, email: str | None = None, crm_id: str | None = None) -> int | None:
    """The lead of this address or CRM record: the open one if any, else the latest (a touch on a closed lead
    is still logged). A CRM id matches the record Leadbot wrote or the one the lead came from."""
    if email:
        where = col(Lead.email_norm) == email.strip().lower()
    elif crm_id:
        came_from = [f"{system}:{crm_id}" for system in ("hubspot", "salesforce")]
        where = (col(Lead.crm_record_id) == crm_id) | col(Lead.external_id).in_(came_from)
    else:
        return None
    query = select(Lead.id).where(where).order_by(col(Lead.is_open).desc(), col(Lead.id).desc()).limit(1)
    return session.exec(query).first()


def get_lead(session: Session, lead_id: int) -> Lead | None:
    return session.get(Lead, lead_id)


def get_leads(session: Session, lead_ids: list[int]) -> dict[int, Lead]:
    """These leads by id (those that exist)."""
    if not lead_ids:
        return {}
    return {lead.id: lead for lead in session.exec(select(Lead).where(col(Lead.id).in_(lead_ids))).all()}


def lock_lead(session: Session, lead_id: int) -> Lead | None:
    """The lead as committed now, locked until the caller's transaction ends; None if there is no such lead.

    Every change a click or a timer makes starts here, so two of them on one lead run one after the other
    and the second sees what the first did. On PostgreSQL this is SELECT ... FOR UPDATE (READ COMMITTED
    lets transactions interleave otherwise); on SQLite the write transaction already holds the one lock.
    Lock order everywhere: the lead first, then its timers, then a rotation row.
    """
    query = select(Lead).where(Lead.id == lead_id).with_for_update()
    return session.exec(query.execution_options(populate_existing=True)).first()


def insert_lead(session: Session, lead: Lead) -> Lead:
    session.add(lead)
    session.flush()  # the id is needed for the activity rows and the outbox
    return lead


def log_activity(session: Session, lead_id: int, at: datetime, actor: str, kind: str, **data: Any) -> None:
    """Append to the activity log and keep the lead's report facts in step, in the caller's transaction."""
    # A plain INSERT: the log is append-only, so no ORM object needs to be tracked for it.
    session.exec(insert(Activity), params=[{"lead_id": lead_id, "at": at, "actor": actor, "kind": kind, "data": data}])
    facts = _facts_for(kind, at, data)
    if facts:
        session.exec(update(Lead).where(col(Lead.id) == lead_id).values(**facts))
    if kind not in _NOT_COUNTED:
        _mark_for_stats(session, lead_id)


def log_activities(
    session: Session, lead_id: int, at: datetime, entries: list[tuple[str, str, dict[str, Any]]]
) -> None:
    """log_activity for several entries (actor, kind, data) of one lead at once: one INSERT for them all (a new
    lead's created, scored, assigned, mql), the report facts they change, and one mark for the rollup."""
    rows = [{"lead_id": lead_id, "at": at, "actor": actor, "kind": kind, "data": data} for actor, kind, data in entries]
    session.exec(insert(Activity), params=rows)
    facts: dict[str, Any] = {}
    for _, kind, data in entries:
        facts |= _facts_for(kind, at, data)
    if facts:
        session.exec(update(Lead).where(col(Lead.id) == lead_id).values(**facts))
    if any(kind not in _NOT_COUNTED for _, kind, _ in entries):
        _mark_for_stats(session, lead_id)


# Events that change nothing the rollup counts (owner, source, first touch, open, the report facts): reminders
# are most of the sweep's firings, and each queued change costs the fold a little.
_NOT_COUNTED = frozenset({"reminded", "scored", "stage_changed", "resubmitted"})


def _facts_for(kind: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """What one activity changes in the lead's report facts (the columns store.stats counts)."""
    if kind == "touch" and data.get("first"):
        return {
            "first_touch_seconds": data.get("seconds_to_first_touch"),
            "first_touch_business_seconds": data.get("business_seconds_to_first_touch"),
            "touched_after_reassignment": col(Lead.reassign_count) > 0,
        }
    if kind == "sla_breached" and data.get("sla") == "first_touch":
        return {"first_touch_breaches": col(Lead.first_touch_breaches) + 1}
    if kind == "escalated":
        return {"escalations": col(Lead.escalations) + 1, "last_escalated_at": at}
    if kind == "rejected":
        return {"rejections": col(Lead.rejections) + 1}
    flag = {"mql": "reached_mql", "handed_off": "reached_sql", "accepted": "reached_opportunity"}.get(kind)
    return {flag: True} if flag else {}


def _mark_for_stats(session: Session, lead_id: int) -> None:
    """Queue the lead's hour for the report rollup; once per lead and transaction is enough."""
    marked = session.info.setdefault("stats_marked", set())
    if lead_id not in marked:
        marked.add(lead_id)
        session.exec(insert(StatsChange), params=[{"lead_id": lead_id}])


def activities(session: Session, lead_id: int) -> list[Activity]:
    return list(session.exec(select(Activity).where(Activity.lead_id == lead_id).order_by(col(Activity.id))).all())


def record_touch(
    session: Session, lead_id: int, actor: str, via: str, at: datetime, number: int, source: str | None = None
) -> bool:
    """Record touch number `number` on an open lead; the first one is also the first touch. `source`: where
    it was logged when not with the Slack button (a CRM, a sequencing tool).

    Guarded by the count: a second click on the same menu, a retried delivery or two clicks at once
    find the count moved on and change nothing (False).
    """
    values = {
        "touch_count": number,
        "last_touch_at": at,
        "last_touch_by": actor,
        "last_touch_via": via,
        "last_touch_source": source,
        "last_activity_at": _latest_activity(at),
    }
    if number == 1:
        values |= {
            "first_touch_at": at,
            "first_touch_by": actor,
            "first_touch_via": via,
            "first_touch_source": source,
            # Only a New lead moves to Attempting Contact: one already Engaged or an SQL keeps its stage.
            "stage": case((col(Lead.stage) == Stage.NEW, Stage.ATTEMPTING_CONTACT), else_=col(Lead.stage)),
        }
    if source is not None:  # logged by a CRM or a tool, not a click: the touch is confirmed by a system
        values["confirmed_touch_at"] = func.coalesce(col(Lead.confirmed_touch_at), at)
    result = session.exec(
        update(Lead)
        .where(col(Lead.id) == lead_id, col(Lead.touch_count) == number - 1, col(Lead.is_open))
        .values(**values)
    )
    if result.rowcount == 1 and number == 1:
        delivered = session.exec(select(Lead.alert_delivered_at).where(col(Lead.id) == lead_id)).one()
        if delivered is not None:
            _set(session, lead_id, rep_seconds=max(0.0, (at - delivered).total_seconds()))
    return result.rowcount == 1


@dataclass(frozen=True)
class PostedMessage:
    """One of a lead's messages that reached Slack: where it lives, for later updates and thread replies."""

    lead_id: int
    ref: str  # alert, escalation, handoff or claim
    channel: str
    ts: str

    @property
    def is_alert(self) -> bool:
        return self.ref == "alert"


_MESSAGE_COLUMNS = {
    "alert": ("alert_channel", "alert_ts"),
    "escalation": (None, "escalation_ts"),
    "handoff": (None, "handoff_ts"),
    "claim": (None, "claim_ts"),
}


def _location_statement(ref: str):
    # Built once per kind: the relay records every post, and building the expression costs more than running it.
    channel_column, ts_column = _MESSAGE_COLUMNS[ref]
    table = Lead.__table__
    values = {ts_column: bindparam("b_ts")} | ({channel_column: bindparam("b_channel")} if channel_column else {})
    if ref == "alert":
        # The owner's first DM ends Leadbot's share of the delay and starts the rep's; a later owner's DM changes
        # neither. A lead touched before its DM arrived (in the CRM, say) has no rep delay at all.
        first = table.c.alert_delivered_at.is_(None)
        values |= {
            "alert_delivered_at": func.coalesce(table.c.alert_delivered_at, bindparam("b_now", type_=UTCDateTime())),
            "delivery_seconds": case((first, bindparam("b_delivery_seconds")), else_=table.c.delivery_seconds),
            "rep_seconds": case((first & table.c.first_touch_at.is_not(None), 0.0), else_=table.c.rep_seconds),
        }
    return update(table).where(table.c.id == bindparam("b_lead_id")).values(values)


_LOCATION_STATEMENTS = {ref: _location_statement(ref) for ref in _MESSAGE_COLUMNS}


def record_posted_messages(session: Session, posted: list[PostedMessage], now: datetime) -> None:
    """Remember where each message was posted; an alert also marks the lead's first DM as delivered at `now`.

    The leads are updated in id order (the lock order of every transaction), one statement per kind of message.
    """
    alerts = [p.lead_id for p in posted if p.is_alert]
    created = {}
    if alerts:
        created = dict(session.exec(select(Lead.id, Lead.created_at).where(col(Lead.id).in_(alerts))).all())
    # A lead erased since its alert was sent has nothing left to record.
    posted = sorted((p for p in posted if p.lead_id in created or not p.is_alert), key=lambda p: p.lead_id)
    connection = session.connection()
    for ref, statement in _LOCATION_STATEMENTS.items():
        params = [
            {"b_lead_id": p.lead_id, "b_channel": p.channel, "b_ts": p.ts, "b_now": now,
             "b_delivery_seconds": max(0.0, (now - created[p.lead_id]).total_seconds()) if p.is_alert else None}
            for p in posted
            if p.ref == ref
        ]  # fmt: skip
        if params:
            connection.execute(statement, params)


def _set(session: Session, lead_id: int, **values: Any) -> None:
    session.exec(update(Lead).where(col(Lead.id) == lead_id).values(**values))


def record_activity(session: Session, lead_id: int, at: datetime) -> None:
    """Activity that is not the owner's touch (a colleague's call logged in the CRM): the lead is being worked."""
    session.exec(update(Lead).where(col(Lead.id) == lead_id).values(last_activity_at=_latest_activity(at)))


def _latest_activity(at: datetime):
    # A touch reported late (a CRM syncs minutes after the call) never moves the last activity back.
    return case((col(Lead.last_activity_at) > at, col(Lead.last_activity_at)), else_=at)


def open_leads_for_owner(session: Session, owner_id: str, limit: int) -> list[Lead]:
    return list(
        session.exec(
            select(Lead)
            .where(Lead.owner_id == owner_id, Lead.is_open)
            .order_by(col(Lead.first_touch_at).is_not(None), col(Lead.first_touch_due_at), col(Lead.id))
            .limit(limit)
        ).all()
    )


def count_leads(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Lead)).one()


def insert_lead_rows(session: Session, leads: list[dict[str, Any]]) -> list[int]:
    """Many new leads as plain rows (the model's defaults fill the rest) in multi-row INSERT ... RETURNING
    statements; their ids in the rows' order. For imports: an ORM Lead costs ~0.5 ms to build."""
    if not leads:
        return []
    defaults = model_defaults(Lead)
    return insert_rows(session, Lead.__table__, [defaults() | lead for lead in leads], with_ids=True)


def log_activity_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append many activity rows (lead_id, at, actor, kind, data) and queue their leads for the rollup. Unlike
    log_activity, the leads' report facts are the caller's: it writes new leads with their facts set."""
    if rows:
        insert_rows(session, Activity.__table__, rows)
        leads = list(dict.fromkeys(row["lead_id"] for row in rows))
        insert_rows(session, StatsChange.__table__, [{"lead_id": lead_id} for lead_id in leads])


def bulk_insert(session: Session, leads: list[dict[str, Any]], activities: list[dict[str, Any]]) -> None:
    """Many rows at once (benchmarks seed history with this); ids and report facts must be given."""
    if leads:
        session.exec(insert(Lead), params=leads)
        if session.get_bind().dialect.name == "postgresql":  # explicit ids leave the sequence behind
            session.exec(text("SELECT setval(pg_get_serial_sequence('lead', 'id'), (SELECT max(id) FROM lead))"))
    if activities:
        session.exec(insert(Activity), params=activities)
    if leads:
        session.exec(insert(StatsChange), params=[{"lead_id": row["id"]} for row in leads])


def max_lead_id(session: Session) -> int:
    return session.exec(select(func.coalesce(func.max(Lead.id), 0))).one()


def claim(session: Session, lead_id: int, owner_id: str, reason: str) -> bool:
    """Give an offered lead to the first eligible claimer; False when someone else was first."""
    result = session.exec(
        update(Lead)
        .where(col(Lead.id) == lead_id, col(Lead.claimable), col(Lead.is_open))
        .values(owner_id=owner_id, claimable=False, routing_reason=reason)
    )
    return result.rowcount == 1


def sqls_waiting_for(session: Session, ae_id: str, limit: int) -> list[Lead]:
    return list(
        session.exec(
            select(Lead)
            .where(Lead.ae_id == ae_id, Lead.stage == Stage.SQL, col(Lead.is_open))
            .order_by(col(Lead.last_activity_at))
            .limit(limit)
        ).all()
    )


def escalations_waiting(session: Session, limit: int) -> list[Lead]:
    """Open leads escalated with no activity since: the managers' to-do list (ix_lead_escalation_waiting)."""
    waiting = col(Lead.last_escalated_at) >= col(Lead.last_activity_at)
    return list(
        session.exec(
            select(Lead).where(col(Lead.is_open), waiting).order_by(col(Lead.last_activity_at)).limit(limit)
        ).all()
    )


def set_crm_record(session: Session, lead_id: int, record_id: str, record_type: str, url: str | None) -> bool:
    """Remember the lead's CRM record and its link; True if the link is new (the lead's messages can show it)."""
    result = session.exec(
        update(Lead)
        .where(col(Lead.id) == lead_id, col(Lead.crm_record_url).is_distinct_from(url))
        .values(crm_record_id=record_id, crm_record_type=record_type, crm_record_url=url)
    )
    return result.rowcount == 1
