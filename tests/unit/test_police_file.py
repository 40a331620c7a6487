"""Reading police.uk street-level files: the real month (a slice of it, and the whole of it where the
shared data is at hand), districts from LSOA names or codes, and every kind of bad file refused whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from talking.crime.mapping import crime_types_by_issue, issue_crime_types
from talking.crime.police_file import UnreadableCrimeFile, read_bytes, read_path
from talking.reference import issues

FIXTURES = Path(__file__).parents[1] / "fixtures" / "police_uk"
SLICE = FIXTURES / "2022-10-lancashire-street-every-10th.csv"
WHOLE_MONTH = (
    Path(__file__).parents[2] / ".." / ".." / "shared" / "data" / "police_uk" / "2022-10-lancashire-street.csv"
)
HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
    "Last outcome category,Context\n"
)


def row(month: str = "2022-10", lsoa: str = "Preston 012A", code: str = "E01025500", kind: str = "Burglary") -> str:
    force = "Lancashire Constabulary"
    return f"abc,{month},{force},{force},-2.7,53.7,On or near Fishergate,{code},{lsoa},{kind},Under investigation,\n"


def test_the_real_slice_is_counted_row_by_row() -> None:
    found = read_path(SLICE)
    assert (found.rows_read, found.rows_stored, found.rows_outside, found.rows_without_location) == (1584, 1519, 6, 59)
    assert found.rows_refused == 0 and found.months == {"2022-10"} and found.forces == {"Lancashire Constabulary"}
    assert sum(found.counts.values()) == 1519
    by_district = {}
    for (_month, _force, district, _type), n in found.counts.items():
        by_district[district] = by_district.get(district, 0) + n
    assert len(by_district) == 14 and by_district["E07000123"] == 212  # Preston
    assert sum(n for key, n in found.counts.items() if key[3] == "Anti-social behaviour") == 474
    assert {area.name for area in found.outside_areas()} >= {"Amber Valley", "Bury"}


@pytest.mark.skipif(not WHOLE_MONTH.exists(), reason="the shared data is not beside the repository")
def test_the_whole_real_month_matches_its_schema_notes() -> None:
    found = read_path(WHOLE_MONTH)
    # SCHEMA.md: 15,833 records; 15,195 in the 14 areas; 50 in other districts; 588 with no LSOA.
    assert (found.rows_read, found.rows_stored, found.rows_outside, found.rows_without_location) == (
        15833,
        15195,
        50,
        588,
    )


def test_the_same_bytes_read_the_same_way_uploaded() -> None:
    from_disk, uploaded = read_path(SLICE), read_bytes(SLICE.read_bytes())
    assert from_disk.counts == uploaded.counts and from_disk.rows_outside == uploaded.rows_outside


def test_a_code_without_a_name_takes_the_district_its_name_gave_earlier() -> None:
    text = HEADER + row() + row(lsoa="") + row(lsoa="", code="E01999999") + row(lsoa="Wigan 001A", code="E01006200")
    text += row(lsoa="", code="E01006200")
    found = read_bytes(text.encode())
    assert found.counts[("2022-10", "Lancashire Constabulary", "E07000123", "Burglary")] == 2
    assert (found.rows_stored, found.rows_without_location, found.rows_outside) == (2, 1, 2)


def test_names_are_matched_whatever_their_case_and_spacing() -> None:
    found = read_bytes((HEADER + row(lsoa="blackburn  with darwen 001A") + row(lsoa="Ribble Valley 004B")).encode())
    assert {key[2] for key in found.counts} == {"E06000008", "E07000124"}


def test_rows_without_a_crime_type_or_with_the_wrong_cells_are_refused_and_the_rest_go_on() -> None:
    text = HEADER + row() + row(kind="") + "just,three,cells\n" + "\n" + row(kind="Drugs")
    found = read_bytes(text.encode())
    assert found.rows_read == 4 and found.rows_stored == 2 and found.rows_refused == 2
    assert [(r.line, r.reason) for r in found.refused] == [
        (3, "There is no crime type"),
        (4, "The row has 3 cells; the header names 12"),
    ]


def test_another_forces_file_with_several_months() -> None:
    other = HEADER + (
        "x,2023-01,Merseyside Police,Merseyside Police,-3.0,53.5,On or near A Road,E01006500,Sefton 001A,Drugs,,\n"
        "x,2023-02,Merseyside Police,Merseyside Police,-2.9,53.6,On or near B Road,E01025400,"
        "West Lancashire 001A,Drugs,,\n"
    )
    found = read_bytes(other.encode())
    assert found.months == {"2023-01", "2023-02"} and found.covers == {
        ("2023-01", "Merseyside Police"),
        ("2023-02", "Merseyside Police"),
    }
    assert dict(found.counts) == {("2023-02", "Merseyside Police", "E07000127", "Drugs"): 1}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"\n\n", "The file is empty"),
        (HEADER.encode(), "has its header but no rows"),
        (
            b"email,postcode\nann@example.org,PR1 2HE\n",
            "Missing: Month, Falls within, LSOA code, LSOA name, Crime type",
        ),
        (HEADER.replace("Crime type", "Offence").encode() + b"x\n", "Missing: Crime type"),
        ((HEADER + row()).encode("utf-16"), "not UTF-8"),
        ((HEADER + row(lsoa="Pr\xe9ston 012A")).encode("latin-1"), "not UTF-8"),
        (b"PK\x03\x04\x14\x00\x06\x00 a spreadsheet", "spreadsheet or a zip"),
        ((HEADER + row()).encode() + b"\x00\x00", "NUL"),
        ((HEADER + row() + row(month="October 2022")).encode(), "Line 3: the month 'October 2022' is not a month"),
        ((HEADER + row(month="2022-13")).encode(), "is not a month written YYYY-MM"),
        ((HEADER + row(month="")).encode(), "is not a month written YYYY-MM"),
        ((HEADER + row(month="٢٠٢٢-10")).encode(), "is not a month written YYYY-MM"),
        ((HEADER + row(month="2009-12")).encode(), "before police.uk's data begins"),
        ((HEADER + row(month="2999-01")).encode(), "in the future"),
        ((HEADER + 'x,2022-10,"unterminated\n').encode() + b"x" * 200_000, "cannot be read as CSV"),
    ],
)
def test_a_bad_file_is_refused_whole_with_the_reason(content: bytes, message: str, tmp_path: Path) -> None:
    with pytest.raises(UnreadableCrimeFile, match=None) as uploaded:
        read_bytes(content)
    assert message in str(uploaded.value)
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableCrimeFile) as on_disk:
        read_path(path)
    assert message in str(on_disk.value) or "not UTF-8" in message


def test_the_mapping_names_every_issue_and_only_police_uk_types() -> None:
    police_uk_types = {
        "Anti-social behaviour",
        "Bicycle theft",
        "Burglary",
        "Criminal damage and arson",
        "Drugs",
        "Other crime",
        "Other theft",
        "Possession of weapons",
        "Public order",
        "Robbery",
        "Shoplifting",
        "Theft from the person",
        "Vehicle crime",
        "Violence and sexual offences",
    }
    mapping = crime_types_by_issue()
    assert set(mapping) == {issue.code for issue in issues()}
    for code, (types, note) in mapping.items():
        assert set(types) <= police_uk_types, code
        assert types or note, f"{code} has no crime type and does not say why"
    assert mapping["burglary"][0] == ["Burglary"]
    assert mapping["fraud"][0] == [] and mapping["road-safety"][0] == [] and mapping["speeding"][0] == []
    custom = issue_crime_types(["potholes"], ["Potholes"])[0]
    assert custom.crime_types == [] and "Not in the mapping" in custom.note
