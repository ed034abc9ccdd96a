"""where a lead and its opportunity live in the team's CRM, for write-back and the "Open in CRM" links

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: Union[str, Sequence[str], None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("lead", sa.Column("crm_record_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("lead", sa.Column("crm_record_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    op.add_column("lead", sa.Column("crm_record_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
    op.add_column("opportunity", sa.Column("crm_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("opportunity", sa.Column("crm_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_column("crm_url")
        batch_op.drop_column("crm_id")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("crm_record_url")
        batch_op.drop_column("crm_record_type")
        batch_op.drop_column("crm_record_id")
