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
    # stats_hour on its next ticks, and reports count unfolded hours from the leads meanwhile.
    from store.stats import rebuild_facts

    rebuild_facts(op.get_bind())


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
