"""Email for the resident panel: the outbox, the sender's lease row, and members.bouncing_at.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from talking.db.models import BigId, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("bouncing_at", UTCDateTime(), nullable=True))
    op.create_table(
        "mail_outbox",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=True),
        sa.Column("subject", sa.String(200), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("unsubscribe_url", sa.String(2000), nullable=True),
        sa.Column("message_id", sa.String(250), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'sent', 'failed', 'cancelled')", name="status_known"),
    )
    op.create_index("ix_mail_outbox_status_due", "mail_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_mail_outbox_member_id", "mail_outbox", ["member_id"])
    op.create_index("ix_mail_outbox_finished_at", "mail_outbox", ["finished_at"])
    lease = op.create_table(
        "mail_sender_lease",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(100), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    # The one row every sender competes for; long expired, so the first sender takes it.
    op.bulk_insert(lease, [{"name": "sender", "holder": None, "expires_at": datetime(2000, 1, 1, tzinfo=UTC)}])


def downgrade() -> None:
    op.drop_table("mail_sender_lease")
    op.drop_index("ix_mail_outbox_finished_at", table_name="mail_outbox")
    op.drop_index("ix_mail_outbox_member_id", table_name="mail_outbox")
    op.drop_index("ix_mail_outbox_status_due", table_name="mail_outbox")
    op.drop_table("mail_outbox")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("bouncing_at")
