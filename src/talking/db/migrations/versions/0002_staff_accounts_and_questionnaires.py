"""Staff accounts, API tokens, the audit log; survey coverage, extra questions, waves.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from talking.db.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_sign_in_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("email"),
        sa.CheckConstraint("role IN ('admin', 'staff', 'analyst')", name="role_known"),
    )
    op.create_table(
        "sign_in_throttle",
        sa.Column("email", sa.String(254), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failed_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("actor_email", sa.String(254), nullable=True),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("target_type", sa.String(30), nullable=True),
        sa.Column("target_id", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("ip", sa.String(45), nullable=True),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_actor_id", "audit_events", ["actor_id"])
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at"])

    with op.batch_alter_table("surveys") as batch:
        batch.add_column(sa.Column("ask_about_you", sa.Boolean, nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("wave", sa.SmallInteger, nullable=False, server_default="1"))
        batch.add_column(sa.Column("previous_wave_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("created_by_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("published_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch.create_foreign_key("fk_surveys_previous_wave_id_surveys", "surveys", ["previous_wave_id"], ["id"])
        batch.create_foreign_key("fk_surveys_created_by_id_users", "users", ["created_by_id"], ["id"])

    op.create_table(
        "survey_districts",
        sa.Column("survey_id", sa.Integer, sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("district_code", sa.String(9), sa.ForeignKey("districts.code"), primary_key=True),
    )
    # Surveys from before 0002 covered every district.
    op.execute(
        "INSERT INTO survey_districts (survey_id, district_code) SELECT s.id, d.code FROM surveys s, districts d"
    )
    op.create_table(
        "survey_questions",
        sa.Column("survey_id", sa.Integer, sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("position", sa.SmallInteger, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("prompt", sa.String(300), nullable=False),
        sa.Column("hint", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("required", sa.Boolean, nullable=False),
        sa.UniqueConstraint("survey_id", "position"),
        sa.CheckConstraint("kind IN ('single_choice', 'multiple_choice', 'agreement', 'free_text')", name="kind_known"),
    )
    op.create_table(
        "response_answers",
        sa.Column("response_id", BigId, sa.ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("question_key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("response_answers")
    op.drop_table("survey_questions")
    op.drop_table("survey_districts")
    with op.batch_alter_table("surveys") as batch:
        batch.drop_constraint("fk_surveys_created_by_id_users", type_="foreignkey")
        batch.drop_constraint("fk_surveys_previous_wave_id_surveys", type_="foreignkey")
        for column in ("closed_at", "published_at", "created_by_id", "previous_wave_id", "wave", "ask_about_you"):
            batch.drop_column(column)
    op.drop_table("audit_events")
    op.drop_table("api_tokens")
    op.drop_table("sign_in_throttle")
    op.drop_table("users")
