"""Rebuilding every lead's report facts from the activity log (after hand edits; `leadbot stats --rebuild`)."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from store.models import Activity, Lead, StatsChange, StatsDay


def rebuild_facts(connection: Session | Connection) -> None:
    """Recompute every lead's report facts from the activity log and queue every lead for the rollup.

    The same figures store.leads.log_activity keeps as events are appended; used by the migration that
    introduced them and by `leadbot stats --rebuild` after hand edits to the database.
    """

    def of_kind(kind: str, *conditions):
        return (
            select(Activity.id)
            .where(col(Activity.lead_id) == col(Lead.id), col(Activity.kind) == kind, *conditions)
            .correlate(Lead)
        )

    def count(kind: str, *conditions):
        return select(func.count()).select_from(of_kind(kind, *conditions).subquery()).scalar_subquery()

    def first_touch(key: str):
        value = Activity.data[key].as_float()
        return (
            select(value)
            .where(col(Activity.lead_id) == col(Lead.id), col(Activity.kind) == "touch", value.is_not(None))
            .correlate(Lead)
            .order_by(col(Activity.id))
            .limit(1)
            .scalar_subquery()
        )

    reassigned_before = of_kind("reassigned", col(Activity.at) < col(Lead.first_touch_at)).exists()
    connection.execute(
        update(Lead).values(
            first_touch_seconds=first_touch("seconds_to_first_touch"),
            first_touch_business_seconds=first_touch("business_seconds_to_first_touch"),
            touched_after_reassignment=reassigned_before,
            first_touch_breaches=count("sla_breached", Activity.data["sla"].as_string() == "first_touch"),
            escalations=count("escalated"),
            last_escalated_at=select(func.max(Activity.at))
            .where(col(Activity.lead_id) == col(Lead.id), col(Activity.kind) == "escalated")
            .correlate(Lead)
            .scalar_subquery(),
            rejections=count("rejected"),
            reached_mql=of_kind("mql").exists(),
            reached_sql=of_kind("handed_off").exists(),
            reached_opportunity=of_kind("accepted").exists(),
        )
    )
    connection.execute(delete(StatsDay))
    connection.execute(delete(StatsChange))
    connection.execute(insert(StatsChange).from_select(["lead_id"], select(Lead.id)))
