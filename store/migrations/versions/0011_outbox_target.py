"""outbox rows name their target, so a CRM can be one more target of the same queue

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "outbox",
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default="slack"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("target")
