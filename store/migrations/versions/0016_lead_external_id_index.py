"""an index on the lead's id in its source (a CRM record): a backfill looks up thousands by it

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

"""

from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0016"
down_revision: Union[str, Sequence[str], None] = "0015"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index("ix_lead_external_id", "lead", ["external_id"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_lead_external_id", table_name="lead")
