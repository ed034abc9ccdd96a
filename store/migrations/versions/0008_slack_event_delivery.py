"""slack event deliveries, so a retried Events API delivery is handled once

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "slack_event_delivery",
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_slack_event_delivery_received_at", "slack_event_delivery", ["received_at"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_slack_event_delivery_received_at", table_name="slack_event_delivery")
    op.drop_table("slack_event_delivery")
