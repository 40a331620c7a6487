"""The schema, as SQLAlchemy tables and ORM classes: surveys, responses, tallies, staff and the service's own tables.

Migrations under ``migrations/versions`` create these tables; a test checks the two agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from talking.db.base import Base, BigId, UTCDateTime

# The panel's, recorded crime's, public results' and packs' tables live in modules of their own (kept
# apart for size); every table is importable from here.
from talking.db.crime_models import crime_counts, crime_imports
from talking.db.pack_models import packs
from talking.db.panel_models import invitations, mail_outbox, mail_sender_lease, members
from talking.db.results_models import approved_quotes, published_results, results_stamp, results_updates


class District(Base):
    """Reference copy of the 14 areas, so every response's district is checked by a foreign key."""

    __tablename__ = "districts"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Survey(Base):
    """A questionnaire residents answer: its issues, how many to pick, and when it is open."""

    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint("max_picks BETWEEN 1 AND 10", name="max_picks_range"),
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status_known"),
        CheckConstraint("audience IN ('open', 'members')", name="audience_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    introduction: Mapped[str] = mapped_column(Text, default="")
    max_picks: Mapped[int] = mapped_column(SmallInteger, default=5)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Added in 0002, with the staff builder.
    ask_about_you: Mapped[bool] = mapped_column(Boolean, default=True)
    wave: Mapped[int] = mapped_column(SmallInteger, default=1)
    previous_wave_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Added in 0008: "open" (anyone with the link) or "members" (invited panel members, once each).
    # Fixed once published.
    audience: Mapped[str] = mapped_column(String(10), default="open", server_default="open")

    issues: Mapped[list[SurveyIssue]] = relationship(
        order_by="SurveyIssue.position", cascade="all, delete-orphan", lazy="selectin"
    )
    districts: Mapped[list[SurveyDistrict]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    questions: Mapped[list[SurveyQuestion]] = relationship(
        order_by="SurveyQuestion.position", cascade="all, delete-orphan", lazy="selectin"
    )


class SurveyIssue(Base):
    """One issue offered by a survey, in the order residents see it."""

    __tablename__ = "survey_issues"
    __table_args__ = (UniqueConstraint("survey_id", "position"),)

    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    label: Mapped[str] = mapped_column(String(200))


class SurveyDistrict(Base):
    """A district a survey covers; residents elsewhere are not asked."""

    __tablename__ = "survey_districts"

    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), primary_key=True)


class SurveyQuestion(Base):
    """An extra question after the ranked issues: single or multiple choice, agreement scale, free text."""

    __tablename__ = "survey_questions"
    __table_args__ = (
        UniqueConstraint("survey_id", "position"),
        CheckConstraint("kind IN ('single_choice', 'multiple_choice', 'agreement', 'free_text')", name="kind_known"),
    )

    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(20))
    prompt: Mapped[str] = mapped_column(String(300))
    hint: Mapped[str] = mapped_column(Text, default="")
    # JSON list of {"code", "label"}; empty for free text, fixed for the agreement scale.
    options: Mapped[str] = mapped_column(Text, default="[]")
    required: Mapped[bool] = mapped_column(Boolean, default=False)


class Response(Base):
    """One resident's answers to one survey. Written by the submission writer with SQL Core."""

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("reference"),
        UniqueConstraint("survey_id", "idempotency_key", name="uq_responses_idempotency"),
        # Appended to at its end by every response (see migration 0004); counts by district come
        # from the running tallies.
        Index("ix_responses_survey", "survey_id"),
        # Only the answers from a browser that had answered before (0006): the report counts them.
        Index(
            "ix_responses_repeat",
            "survey_id",
            sqlite_where=text("repeat_in_browser"),
            postgresql_where=text("repeat_in_browser"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    reference: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    comment: Mapped[str | None] = mapped_column(Text)
    age_band: Mapped[str | None] = mapped_column(String(20))
    sex: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # sha256 of the canonical request, so a reused Idempotency-Key with another body is refused.
    request_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # Added in 0003: the picks' codes in rank order, space-separated. A copy of response_picks (which
    # `talking db retally` recounts from, and which proves each code belongs to the survey) so that
    # exports and samples read one row per response instead of joining five.
    ranked_picks: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Added in 0006: the browser's session already held a confirmation for this survey (pages only).
    repeat_in_browser: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ResponsePick(Base):
    """One picked issue at its rank (1 = most important).

    survey_id is copied from the response so the composite foreign key can prove the issue belongs
    to the survey. Counts by district, issue and rank come from the running tallies, not from here
    (migrations 0003 and 0004 dropped the index and the district column that served them).
    """

    __tablename__ = "response_picks"
    __table_args__ = (
        UniqueConstraint("response_id", "issue_code", name="uq_response_picks_issue"),
        ForeignKeyConstraint(
            ["survey_id", "issue_code"],
            ["survey_issues.survey_id", "survey_issues.code"],
            name="fk_response_picks_survey_issue",
        ),
        CheckConstraint("rank BETWEEN 1 AND 10", name="rank_range"),
    )

    response_id: Mapped[int] = mapped_column(BigId, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    survey_id: Mapped[int] = mapped_column(Integer)
    issue_code: Mapped[str] = mapped_column(String(64))


class TallyRespondents(Base):
    """Running count of respondents per survey, district and weighting cell (age band and sex levels,
    see talking.tallies).

    The three tally tables are kept up to date in each submission's transaction (see
    talking.tallies), so a report reads a few thousand rows however many answers exist.
    They are derived data, recounted by `talking db retally`, so they carry no foreign keys: on
    PostgreSQL checking one per upserted row was a quarter of their cost.
    """

    __tablename__ = "tally_respondents"

    survey_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    age_level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # talking.tallies.AGE_LEVEL_OF_BAND
    sex_level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # talking.tallies.SEX_LEVEL_OF
    respondents: Mapped[int] = mapped_column(BigInteger)
    comments: Mapped[int] = mapped_column(BigInteger)  # respondents who left a comment


class TallyPosition(Base):
    """Running count of who put which issue at which rank, per survey, district and weighting cell."""

    __tablename__ = "tally_positions"

    survey_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    age_level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # talking.tallies.AGE_LEVEL_OF_BAND
    sex_level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # talking.tallies.SEX_LEVEL_OF
    issue_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    picks: Mapped[int] = mapped_column(BigInteger)


class TallyPair(Base):
    """Running sum over respondents of points(a) x points(b) for two issues both picked (a < b by code).

    Borda points are max_picks + 1 - rank; max_picks cannot change once a survey takes answers.
    With the position counts these give every district's mean points and their covariance.
    """

    __tablename__ = "tally_pairs"

    survey_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    age_level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # talking.tallies.AGE_LEVEL_OF_BAND
    sex_level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # talking.tallies.SEX_LEVEL_OF
    issue_a: Mapped[str] = mapped_column(String(64), primary_key=True)
    issue_b: Mapped[str] = mapped_column(String(64), primary_key=True)
    point_product: Mapped[int] = mapped_column(BigInteger)


class ResponseAnswer(Base):
    """A resident's answer to one extra question (a JSON list of codes for multiple choice)."""

    __tablename__ = "response_answers"

    response_id: Mapped[int] = mapped_column(BigId, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    question_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    """A member of staff: admin, staff or analyst. Residents need no account."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("email"),
        CheckConstraint("role IN ('admin', 'staff', 'analyst')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignInThrottle(Base):
    """Consecutive failed sign-ins per email address, known or not, to slow down guessing.

    Keyed by the address typed rather than by user, so an unknown address is slowed down exactly
    like a known one and the delay reveals nothing about who has an account.
    """

    __tablename__ = "sign_in_throttle"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A token for scripts; only its SHA-256 is kept. It acts with its user's role."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    """Who did what, when: every staff and admin action."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Kept as written at the time: the audit must not change when a user is renamed.
    actor_email: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(50))
    target_type: Mapped[str | None] = mapped_column(String(30))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    ip: Mapped[str | None] = mapped_column(String(45))


class WebSession(Base):
    """Server-side session data (resident progress, later staff sign-in), keyed by a random id."""

    __tablename__ = "web_sessions"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class RateLimitCount(Base):
    """One client's count of one limit in its current window (talking/rate_limits; 0006).

    Used on PostgreSQL without Redis; SQLite keeps the same table in a file of its own
    (``talking.limits.db``), so counting never waits for the response writer's lock.
    """

    __tablename__ = "rate_limit_counts"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    # Seconds since the epoch, as the limits library counts time.
    expires_at: Mapped[float] = mapped_column(Float)


surveys = Survey.__table__
survey_issues = SurveyIssue.__table__
responses = Response.__table__
response_picks = ResponsePick.__table__
web_sessions = WebSession.__table__
survey_districts = SurveyDistrict.__table__
survey_questions = SurveyQuestion.__table__
response_answers = ResponseAnswer.__table__
users = User.__table__
sign_in_throttle = SignInThrottle.__table__
api_tokens = ApiToken.__table__
audit_events = AuditEvent.__table__
tally_respondents = TallyRespondents.__table__
tally_positions = TallyPosition.__table__
tally_pairs = TallyPair.__table__
rate_limit_counts = RateLimitCount.__table__

__all__ = [  # the tables kept in other modules, named here so every table is importable from here
    "approved_quotes",
    "crime_counts",
    "crime_imports",
    "invitations",
    "mail_outbox",
    "mail_sender_lease",
    "members",
    "packs",
    "published_results",
    "results_stamp",
    "results_updates",
]
