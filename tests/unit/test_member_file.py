"""Reading the messaging service's export: every bad row refused with its line and why, the rest kept."""

from __future__ import annotations

import pytest

from talking.members.member_file import UnreadableFile, read_text_file
from talking.members.schemas import MemberRow, RefusedRow


def read(text: str, *, bom: bool = False, encoding: str = "utf-8") -> list[MemberRow | RefusedRow]:
    data = text.encode(encoding)
    _count, rows = read_text_file(b"\xef\xbb\xbf" + data if bom else data)
    return list(rows)


def test_good_rows_in_every_form_of_the_columns() -> None:
    rows = read(
        "Email,Postcode,District,Age band,Sex\n"
        "Ann@Example.org,pr12he,,45-54,female\n"
        "bob@example.org,,Blackburn with Darwen,75 or over,Male\n"
        "cat@example.org,,E06000009,,\n",
        bom=True,
    )
    assert rows == [
        MemberRow(2, "Ann@example.org", "ann@example.org", "E07000123", "45-54", "female"),
        MemberRow(3, "bob@example.org", "bob@example.org", "E06000008", "75-and-over", "male"),
        MemberRow(4, "cat@example.org", "cat@example.org", "E06000009", None, None),
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("not-an-email,PR1 2HE,,", "is not an email address"),
        ("a@b,PR1 2HE,,", "is not an email address"),
        (",PR1 2HE,,", "There is no email address"),
        ("d@example.org,M1 1AE,,", "Unknown postcode"),
        ("d@example.org,my house,,", "Unknown postcode: Enter a full postcode"),
        ("d@example.org,,Manchester,", "is not one of the 14 areas"),
        ("d@example.org,,,", "There is no postcode or district"),
        ("d@example.org,PR1 2HE,,ninety", "is not an age band"),
        (",,,", "The row is empty"),
    ],
)
def test_a_bad_row_is_refused_with_its_line_and_reason(row: str, reason: str) -> None:
    rows = read(f"email,postcode,district,age_band\nok@example.org,PR1 2HE,,\n{row}\n")
    assert isinstance(rows[0], MemberRow)
    assert isinstance(rows[1], RefusedRow)
    assert rows[1].line == 3
    assert reason in rows[1].reason


def test_a_duplicate_in_the_file_names_the_first_line_whatever_its_case() -> None:
    rows = read("email,district\nann@example.org,Preston\nbob@example.org,Chorley\nANN@example.org,Wyre\n")
    assert rows[2] == RefusedRow(4, "ANN@example.org is already on line 2 of this file")


def test_a_quoted_cell_over_two_lines_keeps_the_line_numbers_true() -> None:
    rows = read('email,district\n"ann@example.org",Preston\n"bob\n@example.org",Chorley\ncat@example.org,Wyre\n')
    assert [row.line for row in rows] == [2, 4, 5]
    assert isinstance(rows[1], RefusedRow)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("email,district\nann@example.org,Pr\xe9ston\n".encode("latin-1"), "not UTF-8"),
        (b"", "empty"),
        (b"name,town\nAnn,Preston\n", "must name the columns"),
        (b"email\nann@example.org\n", "must name the columns"),
        (b"email,district\nann@example.org,Pres\x00ton\n", "NUL"),
    ],
)
def test_an_unreadable_file_is_refused_whole(data: bytes, message: str) -> None:
    with pytest.raises(UnreadableFile, match=message):
        read_text_file(data)
