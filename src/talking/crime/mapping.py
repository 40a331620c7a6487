"""The one mapping from survey issues to police.uk crime types: issue_crime_types.csv beside this module.

The CSV is documented in its own comment lines and is meant to be edited; an issue it does not
name (a survey's custom issue) has no crime type, and the report says the mapping leaves it out.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

from analysis.recorded_crime import IssueCrimeTypes

MAPPING_FILE = "issue_crime_types.csv"
NOT_MAPPED = "Not in the mapping from issues to police.uk crime types (talking/crime/issue_crime_types.csv)"


@cache
def crime_types_by_issue() -> dict[str, tuple[list[str], str]]:
    """issue code -> (police.uk crime types, note), as the CSV says."""
    text = resources.files(__package__).joinpath(MAPPING_FILE).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    found: dict[str, tuple[list[str], str]] = {}
    for row in csv.DictReader(lines):
        types = [t.strip() for t in (row["crime_types"] or "").split(";") if t.strip()]
        found[row["issue_code"].strip()] = (types, (row["note"] or "").strip())
    return found


def issue_crime_types(codes: list[str], labels: list[str]) -> list[IssueCrimeTypes]:
    """A survey's issues, each with its crime types (none, with the reason, when the mapping has none)."""
    mapping = crime_types_by_issue()
    return [
        IssueCrimeTypes(code, label, *mapping.get(code, ([], NOT_MAPPED)))
        for code, label in zip(codes, labels, strict=True)
    ]
