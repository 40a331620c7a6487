"""msgspec Structs for recorded crime: what one file held, and what importing it did."""

from __future__ import annotations

from datetime import datetime

import msgspec


class RefusedRow(msgspec.Struct, frozen=True):
    """A row left out of an import (its file was readable), and why."""

    line: int
    reason: str


class OutsideArea(msgspec.Struct, frozen=True):
    """Rows of a file that fall in a district other than the 14 areas (by the LSOA's district name)."""

    name: str
    rows: int


class CrimeImportReport(msgspec.Struct, frozen=True):
    """What importing one police.uk file did: the command prints it, the upload page shows it."""

    file: str
    months: list[str]
    forces: list[str]
    rows_read: int
    rows_stored: int  # counted into one of the 14 areas
    rows_outside: int
    rows_without_location: int
    rows_refused: int
    refused: list[RefusedRow]  # the first few (rows_refused counts them all)
    outside: list[OutsideArea]  # the districts outside the 14 most rows fell in, most first
    replaced: list[str]  # "YYYY-MM Force" already imported before, now replaced

    def summary(self) -> str:
        """One line: months, stored, outside, without location, refused."""
        months = ", ".join(self.months) or "no months"
        return (
            f"{self.file}: {months} ({', '.join(self.forces)}): read {self.rows_read:,} rows, stored"
            f" {self.rows_stored:,} in the 14 areas, {self.rows_outside:,} outside them, {self.rows_without_location:,}"
            f" without a location, refused {self.rows_refused:,}"
            + (f"; replaced {', '.join(self.replaced)}" if self.replaced else "")
        )


class ImportLogEntry(msgspec.Struct, frozen=True):
    """One line of the import log, as the upload page lists it."""

    id: int
    file_name: str
    months: str
    forces: str
    rows_read: int
    rows_stored: int
    rows_outside: int
    rows_without_location: int
    rows_refused: int
    imported_via: str
    imported_at: datetime
