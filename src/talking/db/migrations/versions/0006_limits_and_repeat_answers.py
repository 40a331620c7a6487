"""Rate limit counts on PostgreSQL, and which answers came from a browser that had already answered.

``rate_limit_counts``: the counts of talking/rate_limits when PostgreSQL is the database and there
is no Redis (SQLite keeps the same table in a file of its own beside the database,
``talking.limits.db``, so counting never waits for the response writer's lock).

``responses.repeat_in_browser``: true when the resident's browser session already held a
confirmation for this survey when they sent these answers. Households share devices, so they may
answer again; the report shows how many did. A flag, not an identifier of the browser: it links
no two answers and holds nothing about the person.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("responses", sa.Column("repeat_in_browser", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Only the repeats are indexed, so the report counts them without reading every response.
    repeats = sa.text("repeat_in_browser")
    op.create_index("ix_responses_repeat", "responses", ["survey_id"], sqlite_where=repeats, postgresql_where=repeats)
    # Used on PostgreSQL; SQLite keeps its counts in a file of its own (the same table there).
    op.create_table(
        "rate_limit_counts",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        # Seconds since the epoch, as the limits library counts time.
        sa.Column("expires_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_counts")
    op.drop_index("ix_responses_repeat", table_name="responses")
    # Not a batch: copying responses into a new table on SQLite would drop the picks that refer to them.
    op.execute("ALTER TABLE responses DROP COLUMN repeat_in_browser")
