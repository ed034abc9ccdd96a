"""report facts on leads, the daily rollup and its change queue

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COUNTS = [
    "leads",
    "touched",
    "within_sla",
    "timed",
    "timed_business",
    "breaches",
    "escalations",
    "reassignments",
    "touched_after_reassignment",
    "mql",
    "sql",
    "accepted",
    "rejected",
    "open",
]


def upgrade() -> None:
    """Upgrade schema, then compute the new facts from the activity log already there."""
    # Plain ADD COLUMNs with constant defaults: SQLite keeps the table (a batch copy would trip its foreign keys).
    op.add_column("lead", sa.Column("first_touch_seconds", sa.Float(), nullable=True))
    op.add_column("lead", sa.Column("first_touch_business_seconds", sa.Float(), nullable=True))
    op.add_column("lead", sa.Column("touched_after_reassignment", sa.Boolean(), nullable=False, server_default="0"))
    op.add_column("lead", sa.Column("first_touch_breaches", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("lead", sa.Column("escalations", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("lead", sa.Column("last_escalated_at", sa.DateTime(), nullable=True))
    op.add_column("lead", sa.Column("rejections", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("lead", sa.Column("reached_mql", sa.Boolean(), nullable=False, server_default="0"))
    op.add_column("lead", sa.Column("reached_sql", sa.Boolean(), nullable=False, server_default="0"))
    op.add_column("lead", sa.Column("reached_opportunity", sa.Boolean(), nullable=False, server_default="0"))
    op.create_index(
        "ix_lead_first_touch_seconds", "lead", ["first_touch_seconds", "created_at", "owner_id", "lead_source"]
    )
    op.create_index("ix_lead_owner_first_touch_seconds", "lead", ["owner_id", "first_touch_seconds", "created_at"])
    op.create_index(
        "ix_lead_first_touch_business_seconds",
        "lead",
        ["first_touch_business_seconds", "created_at", "owner_id", "lead_source"],
    )
    op.create_index(
        "ix_lead_open_idle",
        "lead",
        ["last_activity_at", "created_at", "owner_id", "lead_source"],
        sqlite_where=sa.text("is_open = 1"),
        postgresql_where=sa.text("is_open"),
    )
    op.create_index(
        "ix_lead_open_queue",
        "lead",
        ["owner_id", sa.text("(first_touch_at IS NOT NULL)"), "first_touch_due_at", "id"],
        sqlite_where=sa.text("is_open = 1"),
        postgresql_where=sa.text("is_open"),
    )
    op.create_index(
        "ix_lead_escalation_waiting",
        "lead",
        ["last_activity_at"],
        sqlite_where=sa.text("is_open = 1 AND last_escalated_at >= last_activity_at"),
        postgresql_where=sa.text("is_open AND last_escalated_at >= last_activity_at"),
    )
    op.create_table(
        "stats_day",
        sa.Column("day", sa.DateTime(), nullable=False),
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("lead_source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        sa.PrimaryKeyConstraint("day", "owner_id", "lead_source"),
    )
    op.create_table(
        "stats_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The figures for leads already stored come from their activity log; the worker folds them into
    # stats_day on its next ticks, and reports count unfolded days from the leads meanwhile.
    _facts_from_the_log(op.get_bind())


# Frozen here (not imported from store.stats): this migration must do tomorrow what it does today,
# whatever later code does. The tables as they are at this revision:
_lead = sa.table(
    "lead",
    sa.column("id", sa.Integer),
    sa.column("first_touch_at", sa.DateTime),
    sa.column("first_touch_seconds", sa.Float),
    sa.column("first_touch_business_seconds", sa.Float),
    sa.column("touched_after_reassignment", sa.Boolean),
    sa.column("first_touch_breaches", sa.Integer),
    sa.column("escalations", sa.Integer),
    sa.column("last_escalated_at", sa.DateTime),
    sa.column("rejections", sa.Integer),
    sa.column("reached_mql", sa.Boolean),
    sa.column("reached_sql", sa.Boolean),
    sa.column("reached_opportunity", sa.Boolean),
)
_activity = sa.table(
    "activity",
    sa.column("id", sa.Integer),
    sa.column("lead_id", sa.Integer),
    sa.column("at", sa.DateTime),
    sa.column("kind", sa.String),
    sa.column("data", sa.JSON),
)
_stats_change = sa.table("stats_change", sa.column("lead_id", sa.Integer))


def _facts_from_the_log(connection) -> None:
    """Every lead's report facts from its activity log, and every lead queued for the rollup."""
    lead, activity = _lead, _activity

    def of_kind(kind, *conditions):
        return (
            sa.select(activity.c.id)
            .where(activity.c.lead_id == lead.c.id, activity.c.kind == kind, *conditions)
            .correlate(lead)
        )

    def count(kind, *conditions):
        return sa.select(sa.func.count()).select_from(of_kind(kind, *conditions).subquery()).scalar_subquery()

    def first_touch(key):
        value = activity.c.data[key].as_float()
        return (
            sa.select(value)
            .where(activity.c.lead_id == lead.c.id, activity.c.kind == "touch", value.is_not(None))
            .correlate(lead)
            .order_by(activity.c.id)
            .limit(1)
            .scalar_subquery()
        )

    last_escalated = (
        sa.select(sa.func.max(activity.c.at))
        .where(activity.c.lead_id == lead.c.id, activity.c.kind == "escalated")
        .correlate(lead)
        .scalar_subquery()
    )
    connection.execute(
        sa.update(lead).values(
            first_touch_seconds=first_touch("seconds_to_first_touch"),
            first_touch_business_seconds=first_touch("business_seconds_to_first_touch"),
            touched_after_reassignment=of_kind("reassigned", activity.c.at < lead.c.first_touch_at).exists(),
            first_touch_breaches=count("sla_breached", activity.c.data["sla"].as_string() == "first_touch"),
            escalations=count("escalated"),
            last_escalated_at=last_escalated,
            rejections=count("rejected"),
            reached_mql=of_kind("mql").exists(),
            reached_sql=of_kind("handed_off").exists(),
            reached_opportunity=of_kind("accepted").exists(),
        )
    )
    connection.execute(sa.delete(_stats_change))
    connection.execute(sa.insert(_stats_change).from_select(["lead_id"], sa.select(lead.c.id)))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("stats_change")
    op.drop_table("stats_day")
    for name in [
        "ix_lead_escalation_waiting",
        "ix_lead_open_queue",
        "ix_lead_open_idle",
        "ix_lead_first_touch_business_seconds",
        "ix_lead_owner_first_touch_seconds",
        "ix_lead_first_touch_seconds",
    ]:
        op.drop_index(name, table_name="lead")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        for name in [
            "reached_opportunity",
            "reached_sql",
            "reached_mql",
            "rejections",
            "last_escalated_at",
            "escalations",
            "first_touch_breaches",
            "touched_after_reassignment",
            "first_touch_business_seconds",
            "first_touch_seconds",
        ]:
            batch_op.drop_column(name)
