"""Census 2021 residents aged 16 and over by age band and by sex, per district: the raking margins.

From ONS Census 2021 table TS009 (age_sex.csv; source and licence in SOURCES.md). Its bands are
the survey's own answer codes (talking.reference.AGE_BANDS), so what a resident answers and what
the Census counts line up without any regrouping.
"""

from __future__ import annotations

from functools import cache

import msgspec

from talking.reference import AGE_BANDS, PREFER_NOT_TO_SAY, SEXES, _read_csv

# The survey's age bands and sexes that a population count exists for, in answer order
# ("prefer not to say" has none: those residents sit out that margin of the raking).
WEIGHTING_AGE_BANDS = tuple(c.code for c in AGE_BANDS if c.code != PREFER_NOT_TO_SAY)
WEIGHTING_SEXES = tuple(c.code for c in SEXES if c.code != PREFER_NOT_TO_SAY)

# The file's column for each answered band.
_COLUMN_OF_BAND = {
    "16-24": "age_16_24",
    "25-34": "age_25_34",
    "35-44": "age_35_44",
    "45-54": "age_45_54",
    "55-64": "age_55_64",
    "65-74": "age_65_74",
    "75-and-over": "age_75_plus",
}


class Residents(msgspec.Struct, frozen=True):
    """A district's residents aged 16 and over, by the survey's age bands and by sex."""

    code: str
    by_age_band: dict[str, int]  # band code (WEIGHTING_AGE_BANDS order) -> residents, both sexes
    by_sex: dict[str, int]  # "female", "male" -> residents aged 16 and over


@cache
def residents_by_district() -> dict[str, Residents]:
    """Each of the 14 areas' adult residents by age band and sex, keyed by ONS code."""
    rows = _read_csv("age_sex.csv")
    found: dict[str, Residents] = {}
    for code in dict.fromkeys(r["ons_code"] for r in rows):
        of = {r["sex"]: r for r in rows if r["ons_code"] == code}
        found[code] = Residents(
            code=code,
            by_age_band={band: int(of["all"][_COLUMN_OF_BAND[band]]) for band in WEIGHTING_AGE_BANDS},
            by_sex={sex: int(of[sex]["age_16_plus"]) for sex in WEIGHTING_SEXES},
        )
    return found
