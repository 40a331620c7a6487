"""Postcode to district: any spacing or case, and a different message for a non-postcode and an outsider."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from talking.reference.postcodes import PostcodeNotFound, district_of_postcode, normalise_postcode

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "lancashire_postcodes.csv"


@pytest.mark.parametrize("typed", ["PR1 2HE", "pr12he", " pr1  2he ", "Pr1\t2hE", "PR12HE"])
def test_any_spacing_or_case_finds_preston(typed: str) -> None:
    district = district_of_postcode(typed)
    assert (district.code, district.name) == ("E07000123", "Preston")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("bb111ab", "BB11 1AB"),
        ("fy1 1aa", "FY1 1AA"),
        ("PR12HE", "PR1 2HE"),
        ("", None),
        ("PR1", None),
        ("12345", None),
        ("PR1 2HEE", None),
        ("PR1 2H", None),
        ("P R 1 2 H E", "PR1 2HE"),
        ("PR1-2HE", None),
    ],
)
def test_normalised_as_code_point_writes_them(typed: str, expected: str | None) -> None:
    assert normalise_postcode(typed) == expected


def test_not_a_postcode_says_what_one_looks_like() -> None:
    with pytest.raises(PostcodeNotFound) as refused:
        district_of_postcode("my house")
    assert not refused.value.well_formed
    assert "like PR1 2HE" in refused.value.message


@pytest.mark.parametrize("outside", ["M1 1AE", "L1 8JQ", "SW1A 1AA", "PR1 9ZZ"])
def test_a_postcode_outside_the_areas_offers_the_list(outside: str) -> None:
    with pytest.raises(PostcodeNotFound) as refused:
        district_of_postcode(outside)
    assert refused.value.well_formed
    assert "choose your area from the list" in refused.value.message


@pytest.mark.skipif(not SHARED.exists(), reason="the shared reference data is not beside the project")
def test_the_packaged_list_is_the_shared_one_every_row() -> None:
    with SHARED.open(encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    assert len(rows) == 40_640
    for row in rows[::97]:  # a spread of them, each area many times
        assert district_of_postcode(row["postcode"]).code == row["ons_code"]
