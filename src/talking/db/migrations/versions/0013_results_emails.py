"""Members' "email me when results are published" preference (off unless the member asks).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing and imported members never asked, so they start without it.
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("hear_about_results", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("hear_about_results")
