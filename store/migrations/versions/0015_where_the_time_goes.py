"""where the time to first touch goes: the source's creation time, the DM's delivery, the rep's share, confirmation

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: Union[str, Sequence[str], None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("lead", sa.Column("source_created_at", sa.DateTime(), nullable=True))
    op.add_column("lead", sa.Column("alert_delivered_at", sa.DateTime(), nullable=True))
    op.add_column("lead", sa.Column("source_seconds", sa.Float(), nullable=True))
    op.add_column("lead", sa.Column("delivery_seconds", sa.Float(), nullable=True))
    op.add_column("lead", sa.Column("rep_seconds", sa.Float(), nullable=True))
    op.add_column("lead", sa.Column("confirmed_touch_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("lead", schema=None) as batch_op:
        for name in (
            "confirmed_touch_at",
            "rep_seconds",
            "delivery_seconds",
            "source_seconds",
            "alert_delivered_at",
            "source_created_at",
        ):
            batch_op.drop_column(name)
