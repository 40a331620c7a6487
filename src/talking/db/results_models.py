"""Public results' tables: what staff published, the quotes they approved, what partners did, and the stamp.

Kept apart from models.py for size; every table is importable from talking.db.models.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from talking.db.base import Base, BigId, UTCDateTime


class PublishedResults(Base):
    """One publication of a survey's results: a snapshot of its public figures, interim or final.

    The figures are frozen when published (JSON of results.schemas.PublicFigures), so the public
    pages do not move as answers arrive. A survey has at most one live publication (withdrawn_at
    NULL, held by a partial unique index); withdrawn and superseded ones are kept for the record.
    """

    __tablename__ = "published_results"
    __table_args__ = (
        CheckConstraint("stage IN ('interim', 'final')", name="stage_known"),
        Index(
            "ix_published_results_live",
            "survey_id",
            unique=True,
            sqlite_where=text("withdrawn_at IS NULL"),
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(10))
    responses: Mapped[int] = mapped_column(Integer)
    figures: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ApprovedQuote(Base):
    """A resident's comment that staff chose to publish, as they approved it (redacted, perhaps edited).

    Tied to its response, so erasing the response (talking.retention) takes the quote with it.
    """

    __tablename__ = "approved_quotes"
    __table_args__ = (UniqueConstraint("survey_id", "response_id", name="uq_approved_quotes_survey_response"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    response_id: Mapped[int] = mapped_column(BigId, ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    quote: Mapped[str] = mapped_column(Text)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ResultsUpdate(Base):
    """ "We did": what a partner did about an issue, for the county (district_code NULL) or one district."""

    __tablename__ = "results_updates"
    __table_args__ = (Index("ix_results_updates_survey", "survey_id", "district_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    issue_code: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(Text)
    done_on: Mapped[date] = mapped_column(Date)
    partner: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ResultsStamp(Base):
    """One row whose version goes up with every change to public results: each worker's cache checks it."""

    __tablename__ = "results_stamp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


published_results = PublishedResults.__table__
approved_quotes = ApprovedQuote.__table__
results_updates = ResultsUpdate.__table__
results_stamp = ResultsStamp.__table__
