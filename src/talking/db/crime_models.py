"""Recorded crime from police.uk: counts by month, force, district and crime type, and the import log.

Only what the report needs is kept: no coordinates, streets, crime ids or outcomes. A month of one
force's file is one set of rows; importing that month of that force again replaces them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from talking.db.base import Base, UTCDateTime


class CrimeImport(Base):
    """One file imported (by `talking crime import` or the upload page): what it held and what was kept."""

    __tablename__ = "crime_imports"
    __table_args__ = (CheckConstraint("imported_via IN ('command', 'upload')", name="imported_via_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    # The file's "Falls within" forces and its months (YYYY-MM), comma-separated, in order.
    forces: Mapped[str] = mapped_column(Text)
    months: Mapped[str] = mapped_column(Text)
    rows_read: Mapped[int] = mapped_column(Integer)
    rows_stored: Mapped[int] = mapped_column(Integer)
    # In an LSOA of another district than the 14 (a force's records can fall outside its area).
    rows_outside: Mapped[int] = mapped_column(Integer)
    rows_without_location: Mapped[int] = mapped_column(Integer)
    rows_refused: Mapped[int] = mapped_column(Integer)
    imported_via: Mapped[str] = mapped_column(String(10))
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CrimeCount(Base):
    """Incidents of one police.uk crime type in one district in one month, as one force published them."""

    __tablename__ = "crime_counts"
    __table_args__ = (
        PrimaryKeyConstraint("month", "force", "district_code", "crime_type"),
        CheckConstraint("incidents > 0", name="incidents_positive"),
    )

    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    force: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    crime_type: Mapped[str] = mapped_column(String(100))
    incidents: Mapped[int] = mapped_column(Integer)
    import_id: Mapped[int] = mapped_column(ForeignKey("crime_imports.id"), index=True)


crime_imports = CrimeImport.__table__
crime_counts = CrimeCount.__table__
