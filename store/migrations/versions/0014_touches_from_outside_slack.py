"""touches logged outside Slack (the touch API, CRM webhooks): where each was logged, and receipts by activity id

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: Union[str, Sequence[str], None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("lead", sa.Column("first_touch_source", sa.String(length=32), nullable=True))
    op.add_column("lead", sa.Column("last_touch_source", sa.String(length=32), nullable=True))
    op.create_table(
        "touch_receipt",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"]),
        sa.PrimaryKeyConstraint("source", "external_id"),
    )
    op.create_index(op.f("ix_touch_receipt_lead_id"), "touch_receipt", ["lead_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_touch_receipt_lead_id"), table_name="touch_receipt")
    op.drop_table("touch_receipt")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("last_touch_source")
        batch_op.drop_column("first_touch_source")
