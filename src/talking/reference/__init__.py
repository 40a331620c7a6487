"""Reference data shipped with the package: districts, the issue taxonomy and "about you" answers.

Codes here never change, so answers from different waves compare. Add new codes; never rename one.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import msgspec


class District(msgspec.Struct, frozen=True):
    """One of the 14 areas of the Lancashire Strategic Assessment (Census 2021 figures)."""

    code: str
    name: str
    kind: str
    population: int
    aged_under_15: int
    aged_15_to_64: int
    aged_65_and_over: int
    people_per_sq_km: int


class Issue(msgspec.Struct, frozen=True):
    """A community issue residents can pick, with its stable code."""

    code: str
    label: str
    source: str
    description: str


class Choice(msgspec.Struct, frozen=True):
    """An answer option with a stable code and the words residents see."""

    code: str
    label: str


PREFER_NOT_TO_SAY = "prefer-not-to-say"

AGE_BANDS: tuple[Choice, ...] = (
    Choice("16-24", "16 to 24"),
    Choice("25-34", "25 to 34"),
    Choice("35-44", "35 to 44"),
    Choice("45-54", "45 to 54"),
    Choice("55-64", "55 to 64"),
    Choice("65-74", "65 to 74"),
    Choice("75-and-over", "75 or over"),
    Choice(PREFER_NOT_TO_SAY, "Prefer not to say"),
)

SEXES: tuple[Choice, ...] = (
    Choice("female", "Female"),
    Choice("male", "Male"),
    Choice(PREFER_NOT_TO_SAY, "Prefer not to say"),
)


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def districts() -> tuple[District, ...]:
    """The 14 areas in name order."""
    rows = _read_csv("areas.csv")
    found = [
        District(
            code=r["ons_code"],
            name=r["name"],
            kind=r["kind"],
            population=int(r["population_2021"]),
            aged_under_15=int(r["aged_under_15"]),
            aged_15_to_64=int(r["aged_15_to_64"]),
            aged_65_and_over=int(r["aged_65_and_over"]),
            people_per_sq_km=int(r["people_per_sq_km"]),
        )
        for r in rows
    ]
    return tuple(sorted(found, key=lambda d: d.name))


@cache
def districts_by_code() -> dict[str, District]:
    """The 14 areas keyed by ONS code."""
    return {d.code: d for d in districts()}


@cache
def issues() -> tuple[Issue, ...]:
    """The issue taxonomy in its published order."""
    return tuple(Issue(**r) for r in _read_csv("issues.csv"))


@cache
def issues_by_code() -> dict[str, Issue]:
    """The issue taxonomy keyed by code."""
    return {i.code: i for i in issues()}


AGE_BAND_CODES = frozenset(c.code for c in AGE_BANDS)
SEX_CODES = frozenset(c.code for c in SEXES)
