"""Strategic Assessment packs: a survey's report frozen with its method and the fingerprint of its answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from talking.db.base import Base, UTCDateTime


class Pack(Base):
    """One frozen report. Written once and never updated: no route, command or service changes a row.

    ``document`` is the whole pack as canonical JSON (sorted keys, no spaces): the report, the
    method's settings, the fingerprint and who made it. The API serves these bytes as they are,
    so the same pack is the same file every time. The other columns repeat what lists and
    `talking packs verify` need without decoding the document.
    """

    __tablename__ = "packs"
    __table_args__ = (Index("ix_packs_survey", "survey_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    document: Mapped[bytes] = mapped_column(LargeBinary)
    method_version: Mapped[str] = mapped_column(String(40))
    # The analysis.report.ReportSettings used, as canonical JSON: recomputing with them reproduces the report.
    settings: Mapped[str] = mapped_column(Text)
    # SHA-256 (hex) over the responses' ids and canonical answers in id order (talking.packs.fingerprint).
    fingerprint: Mapped[str] = mapped_column(String(64))
    responses: Mapped[int] = mapped_column(Integer)
    # JSON list of "YYYY-MM" months of recorded crime in the report (empty until recorded crime is merged).
    crime_months: Mapped[str] = mapped_column(Text)
    made_by: Mapped[str] = mapped_column(String(254))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime())


packs = Pack.__table__
