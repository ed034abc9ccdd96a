"""the App Home's last published hash per person, round robin credits for reassigned leads, and an index on
unsent outbox rows by ref

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "home_view",
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.add_column("routing_state", sa.Column("credits", sa.JSON(), nullable=False, server_default="{}"))
    op.create_index(
        "ix_outbox_pending_ref",
        "outbox",
        ["ref"],
        sqlite_where=sa.text("sent_at IS NULL AND NOT failed"),
        postgresql_where=sa.text("sent_at IS NULL AND NOT failed"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_outbox_pending_ref", table_name="outbox")
    with op.batch_alter_table("routing_state", schema=None) as batch_op:
        batch_op.drop_column("credits")
    op.drop_table("home_view")
