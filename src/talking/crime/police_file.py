"""Reading a police.uk street-level crime file (any force, any number of months) into counts by district.

The format is police.uk's own (data.police.uk/about, "CSV Columns"): a header naming at least
Month, Falls within, LSOA code, LSOA name and Crime type. The district comes from the LSOA name,
"<district name> NNNX" ("Preston 012A"); a row with a code but no name takes the district a named
row of the same file gave that code. Rows in another district are counted as outside the 14 areas;
rows with no LSOA (police.uk's "No Location") as without a location.

The whole file must be readable or nothing of it is kept: not UTF-8, not CSV, a spreadsheet, empty,
without the columns, or with a month that is not YYYY-MM (or lies in the future) refuses the file,
naming the line. Inside a readable file a row with a blank crime type or force, or the wrong number
of cells, is refused with its line and the rest go on. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from talking.crime.schemas import OutsideArea, RefusedRow
from talking.reference import districts

MONTH = "Month"
FORCE = "Falls within"
LSOA_CODE = "LSOA code"
LSOA_NAME = "LSOA name"
CRIME_TYPE = "Crime type"
REQUIRED_COLUMNS = (MONTH, FORCE, LSOA_CODE, LSOA_NAME, CRIME_TYPE)
# police.uk's street-level data begins in December 2010.
FIRST_YEAR = 2010
LONGEST_TEXT = 100  # a force or crime type longer than this is not police.uk's
KEPT_REFUSALS = 1_000  # reasons kept per file (all are counted)
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")  # ASCII digits only (\d takes any script's)
_LSOA_SUFFIX = re.compile(r"\s+\d{3}[A-Z]$")
# Files that are not text at all, by their first bytes: zip (xlsx, ods) and the old Office format.
_SPREADSHEET_STARTS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")

Key = tuple[str, str, str, str]  # month, force, district code, crime type
Progress = Callable[[int], None]


class UnreadableCrimeFile(ValueError):
    """The file as a whole cannot be read as police.uk crime; nothing of it was imported."""


@dataclass(slots=True)
class CrimeFile:
    """What a readable file holds: counts for the 14 areas, and every row accounted for."""

    counts: Counter[Key] = field(default_factory=Counter)
    months: set[str] = field(default_factory=set)
    forces: set[str] = field(default_factory=set)
    # (month, force) pairs the file covers: importing it replaces what was stored for each.
    covers: set[tuple[str, str]] = field(default_factory=set)
    rows_read: int = 0
    rows_stored: int = 0
    rows_outside: int = 0
    rows_without_location: int = 0
    rows_refused: int = 0
    refused: list[RefusedRow] = field(default_factory=list)
    outside: Counter[str] = field(default_factory=Counter)

    def refuse(self, line: int, reason: str) -> None:
        """Count a refused row, keeping its reason while there are few."""
        self.rows_refused += 1
        if len(self.refused) < KEPT_REFUSALS:
            self.refused.append(RefusedRow(line, reason))

    def outside_areas(self, most: int = 10) -> list[OutsideArea]:
        """The districts outside the 14 that most rows fell in."""
        return [OutsideArea(name, rows) for name, rows in self.outside.most_common(most)]


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


@cache
def _district_by_name() -> dict[str, str]:
    return {_key(d.name): d.code for d in districts()}


def _latest_month() -> str:
    """This month (UTC) as YYYY-MM: police.uk publishes no month before it ends (not cached: servers run for months)."""
    return datetime.now(UTC).strftime("%Y-%m")


def check_month(text: str) -> str | None:
    """Why a Month cell is not a month police.uk could publish, or None when it is one."""
    found = _MONTH.fullmatch(text)
    if found is None:
        return f"the month {text[:20]!r} is not a month written YYYY-MM (such as 2022-10)"
    if int(found.group(1)) < FIRST_YEAR:
        return f"the month {text} is before police.uk's data begins (December 2010)"
    if text > _latest_month():
        return f"the month {text} is in the future"
    return None


def _column_positions(header: list[str]) -> dict[str, int]:
    names = [_key(name.lstrip("\ufeff")) for name in header]
    missing = [column for column in REQUIRED_COLUMNS if _key(column) not in names]
    if missing:
        shown = ", ".join(name.strip()[:40] for name in header[:12] if name.strip()) or "none"
        raise UnreadableCrimeFile(
            "The first line must name police.uk's columns: " + ", ".join(REQUIRED_COLUMNS) + "."
            f" Missing: {', '.join(missing)} (it names {shown})"
        )
    return {column: names.index(_key(column)) for column in REQUIRED_COLUMNS}


def read_lines(lines: Iterable[str], *, progress: Progress | None = None) -> CrimeFile:
    """Read a file's lines (text, line endings kept) into counts; raises UnreadableCrimeFile."""
    reader = csv.reader(_counted(lines, progress) if progress else lines)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise UnreadableCrimeFile("The file is empty: the first line must name police.uk's columns")
        at = _column_positions(header)
        found = _read_rows(reader, at, len(header))
    except csv.Error as exc:
        raise UnreadableCrimeFile(f"Line {reader.line_num} cannot be read as CSV ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise UnreadableCrimeFile(
            f"The file is not UTF-8 text (near line {reader.line_num + 1}): police.uk's files are UTF-8"
        ) from exc
    if found.rows_read == 0:
        raise UnreadableCrimeFile("The file has its header but no rows: there is nothing to import")
    return found


def _read_rows(reader: Any, at: dict[str, int], width: int) -> CrimeFile:
    """Every row counted: stored for a district, outside, without a location, or refused."""
    found = CrimeFile()
    by_name = _district_by_name()
    district_of_lsoa: dict[str, str | None] = {}  # LSOA name -> code (None: outside the 14)
    district_of_code: dict[str, str | None] = {}  # LSOA code -> the district its name gave
    checked_months: set[str] = set()
    i_month, i_force, i_code, i_name, i_type = (at[c] for c in REQUIRED_COLUMNS)
    for row in reader:
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line is no record
        found.rows_read += 1
        if len(row) != width:
            found.refuse(line, f"The row has {len(row)} cells; the header names {width}")
            continue
        month = row[i_month].strip()
        if month not in checked_months:
            problem = check_month(month)
            if problem is not None:
                raise UnreadableCrimeFile(f"Line {line}: {problem}")
            checked_months.add(month)
        force, crime_type = row[i_force].strip(), row[i_type].strip()
        if not force or not crime_type:
            found.refuse(line, f"There is no {'force (Falls within)' if not force else 'crime type'}")
            continue
        if len(force) > LONGEST_TEXT or len(crime_type) > LONGEST_TEXT:
            found.refuse(line, f"The force or crime type is longer than {LONGEST_TEXT} characters")
            continue
        if (month, force) not in found.covers:  # a few pairs per file: the sets grow only with a new one
            found.covers.add((month, force))
            found.months.add(month)
            found.forces.add(force)
        lsoa_name, lsoa_code = row[i_name].strip(), row[i_code].strip()
        if lsoa_name:
            if lsoa_name not in district_of_lsoa:
                district_name = _LSOA_SUFFIX.sub("", lsoa_name)
                district_of_lsoa[lsoa_name] = by_name.get(_key(district_name))
                if lsoa_code:
                    district_of_code[lsoa_code] = district_of_lsoa[lsoa_name]
            district = district_of_lsoa[lsoa_name]
            if district is None:
                found.rows_outside += 1
                found.outside[_LSOA_SUFFIX.sub("", lsoa_name)[:LONGEST_TEXT]] += 1
                continue
        elif lsoa_code and lsoa_code in district_of_code:
            district = district_of_code[lsoa_code]
            if district is None:
                found.rows_outside += 1
                found.outside[f"LSOA {lsoa_code[:12]}"] += 1
                continue
        else:
            found.rows_without_location += 1
            continue
        found.counts[(month, force, district, crime_type)] += 1
        found.rows_stored += 1
    return found


def _counted(lines: Iterable[str], progress: Progress) -> Iterator[str]:
    """The lines, telling progress how many characters went by every few thousand lines."""
    pending = 0
    for n, text in enumerate(lines, start=1):
        pending += len(text)
        if n % 4096 == 0:
            progress(pending)
            pending = 0
        yield text
    progress(pending)


def decode(data: bytes) -> str:
    """A file's bytes as text: UTF-8 (with or without a byte-order mark), or UnreadableCrimeFile saying why not."""
    if data.startswith(_SPREADSHEET_STARTS):
        raise UnreadableCrimeFile("The file is a spreadsheet or a zip, not CSV: download the CSV from police.uk")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableCrimeFile(
            f"The file is not UTF-8 text (byte {exc.start + 1:,} cannot be read): police.uk's files are UTF-8"
        ) from exc
    if "\x00" in text:
        raise UnreadableCrimeFile("The file holds NUL characters: it is not CSV text")
    return text


def read_bytes(data: bytes) -> CrimeFile:
    """A whole uploaded file, read (the upload page)."""
    return read_lines(io.StringIO(decode(data), newline=""))


def read_path(path: Path, *, progress: Progress | None = None) -> CrimeFile:
    """A file on disk, streamed (the command: a year of a large force is hundreds of megabytes)."""
    with path.open("rb") as raw:
        start = raw.read(4096)
    if not start.strip():
        raise UnreadableCrimeFile("The file is empty: the first line must name police.uk's columns")
    if start.startswith(_SPREADSHEET_STARTS):
        raise UnreadableCrimeFile("The file is a spreadsheet or a zip, not CSV: download the CSV from police.uk")
    if b"\x00" in start:
        raise UnreadableCrimeFile("The file holds NUL characters: it is not CSV text")
    with path.open(encoding="utf-8-sig", errors="strict", newline="") as text:
        return read_lines(text, progress=progress)
