"""Reading the community messaging service's export of its members: a CSV, row by row, checked.

The file must be readable as a whole (UTF-8, with or without a byte-order mark, with the columns
we need) or nothing is done at all. Inside a readable file every row stands alone: a bad row is
refused with its line number and the reason, and the others go on. Columns: ``email``, and
``postcode`` or ``district`` (an ONS code or a district's name); optionally ``age_band`` and ``sex``
(the survey's codes or the words residents see). Nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from functools import cache

from email_validator import EmailNotValidError, validate_email

from talking.members.schemas import MemberRow, RefusedRow
from talking.reference import AGE_BANDS, SEXES, Choice, districts
from talking.reference.postcodes import PostcodeNotFound, district_of_postcode

# Well above the 80,000 residents signed up today; a larger file is more likely a mistake.
MAX_ROWS = 250_000
REQUIRED = ("email",)
WHERE = ("postcode", "district")
KNOWN_COLUMNS = ("email", "postcode", "district", "age_band", "sex")
_NON_WORD = re.compile(r"[^a-z0-9]+")


class UnreadableFile(ValueError):
    """The file as a whole cannot be read as a member list; nothing was imported."""


def _key(text: str) -> str:
    """Names compared loosely: case, spaces, punctuation and "&"/"and" do not matter."""
    return _NON_WORD.sub("", text.lower().replace("&", "and"))


@cache
def _district_codes_by_name() -> dict[str, str]:
    found = {_key(district.name): district.code for district in districts()}
    found.update({_key(district.code): district.code for district in districts()})
    return found


def _choice_codes(choices: tuple[Choice, ...]) -> dict[str, str]:
    found = {_key(choice.code): choice.code for choice in choices}
    found.update({_key(choice.label): choice.code for choice in choices})
    return found


_AGE_BANDS = _choice_codes(AGE_BANDS)
_SEXES = _choice_codes(SEXES)


def decode(data: bytes) -> str:
    """The file's text: UTF-8 with or without a byte-order mark, or UnreadableFile saying so."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"The file is not UTF-8 text (byte {exc.start + 1} cannot be read): save it as 'CSV UTF-8' and try again"
        ) from exc
    if "\x00" in text:
        raise UnreadableFile("The file holds NUL characters: it looks like a spreadsheet, not CSV text")
    return text


def read_rows(text: str) -> tuple[int, Iterator[MemberRow | RefusedRow]]:
    """How many rows the file has, and each row checked in file order (duplicates refused after the first)."""
    # newline="": a quoted cell may hold a line break, which splitting into lines would lose.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [_key(name or "") for name in (reader.fieldnames or [])]
    if not columns:
        raise UnreadableFile("The file is empty: the first line must name the columns (email, postcode or district)")
    reader.fieldnames = [_canonical_column(name) for name in columns]
    missing = [name for name in REQUIRED if name not in reader.fieldnames]
    if missing or not any(name in reader.fieldnames for name in WHERE):
        raise UnreadableFile(
            "The first line must name the columns: email, and postcode or district"
            f" (it names {', '.join(name for name in reader.fieldnames if name) or 'none'})"
        )
    count = max(0, text.count("\n") - 1 + (not text.endswith("\n")))
    if count > MAX_ROWS:
        raise UnreadableFile(f"The file has {count:,} rows; split it into files of at most {MAX_ROWS:,}")
    return count, _checked(reader)


def _canonical_column(name: str) -> str:
    """A header as written ("E-mail", "Age band", "Postcode ") as one of KNOWN_COLUMNS, if it is one."""
    aliases = {"emailaddress": "email", "agegroup": "age_band", "ageband": "age_band", "area": "district"}
    name = aliases.get(name, name)
    return next((known for known in KNOWN_COLUMNS if _key(known) == name), name)


def _checked(reader: csv.DictReader[str]) -> Iterator[MemberRow | RefusedRow]:
    first_line_of: dict[str, int] = {}
    for record in _records(reader):
        line = reader.line_num
        row = _check(record, line)
        if isinstance(row, MemberRow):
            if (earlier := first_line_of.get(row.email_key)) is not None:
                row = RefusedRow(line, f"{row.email} is already on line {earlier} of this file")
            else:
                first_line_of[row.email_key] = line
        yield row


def _records(reader: csv.DictReader[str]) -> Iterator[dict[str, str | None]]:
    """The reader's records; a file that stops being CSV part-way is unreadable (its import is undone)."""
    try:
        yield from reader
    except csv.Error as exc:
        raise UnreadableFile(f"Line {reader.line_num} cannot be read as CSV ({exc})") from exc


def _check(record: dict[str, str | None], line: int) -> MemberRow | RefusedRow:
    """One row as a member, or the first reason it cannot be one."""
    cell = {name: (record.get(name) or "").strip() for name in KNOWN_COLUMNS}
    if not any(cell.values()):
        return RefusedRow(line, "The row is empty")
    if not cell["email"]:
        return RefusedRow(line, "There is no email address")
    try:
        email = validate_email(cell["email"], check_deliverability=False).normalized
    except EmailNotValidError as exc:
        return RefusedRow(line, f"{cell['email'][:100]!r} is not an email address: {exc}")
    district = _district(cell["postcode"], cell["district"])
    if isinstance(district, RefusedRow):
        return RefusedRow(line, district.reason)
    age_band = _AGE_BANDS.get(_key(cell["age_band"])) if cell["age_band"] else None
    if cell["age_band"] and age_band is None:
        return RefusedRow(line, f"{cell['age_band'][:40]!r} is not an age band (16-24, 25-34 ... 75-and-over)")
    sex = _SEXES.get(_key(cell["sex"])) if cell["sex"] else None
    if cell["sex"] and sex is None:
        return RefusedRow(line, f"{cell['sex'][:40]!r} is not one of female, male or prefer-not-to-say")
    return MemberRow(line, email, email.lower(), district, age_band, sex)


def _district(postcode: str, district: str) -> str | RefusedRow:
    """The ONS code a row's postcode (first) or district gives, or why there is none."""
    if postcode:
        try:
            return district_of_postcode(postcode).code
        except PostcodeNotFound as exc:
            return RefusedRow(0, f"Unknown postcode: {exc.message}")
    if district:
        code = _district_codes_by_name().get(_key(district))
        if code is None:
            return RefusedRow(0, f"{district[:60]!r} is not one of the 14 areas (an ONS code or a district's name)")
        return code
    return RefusedRow(0, "There is no postcode or district")


def read_text_file(data: bytes) -> tuple[int, Iterator[MemberRow | RefusedRow]]:
    """Decode and read a whole file's bytes (the upload page and the command alike)."""
    return read_rows(decode(data))


def as_text(rows: list[RefusedRow]) -> str:
    """Refused rows as the command prints them, one a line."""
    buffer = io.StringIO()
    for row in rows:
        buffer.write(f"line {row.line}: {row.reason}\n")
    return buffer.getvalue()
