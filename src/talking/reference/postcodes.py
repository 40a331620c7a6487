"""Postcode to district: every live postcode of the 14 areas (OS Code-Point Open, see SOURCES.md).

Residents type postcodes every way ("pr12he", "PR1 2HE", " pr1  2he "); the lookup takes any
spacing or case. A text that is not shaped like a UK postcode and a real postcode outside the 14
areas get different messages, because the second resident should choose their area from the list
and the first should look at what they typed.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from importlib import resources

from talking.reference import District, districts_by_code

# The shape of a UK postcode: outward code (area, district, optional sub-district), inward code.
_SHAPE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_SPACES = re.compile(r"\s+")
EXAMPLE = "PR1 2HE"


class PostcodeNotFound(LookupError):
    """A postcode that is not shaped like one, or is not in the 14 areas; ``message`` says which."""

    def __init__(self, message: str, *, well_formed: bool) -> None:
        super().__init__(message)
        self.message = message
        self.well_formed = well_formed


def normalise_postcode(text: str) -> str | None:
    """The postcode as Code-Point writes it ("PR1 2HE"), or None if ``text`` is not shaped like one."""
    squeezed = _SPACES.sub("", text).upper()
    found = _SHAPE.match(squeezed)
    return f"{found.group(1)} {found.group(2)}" if found else None


@cache
def _district_codes() -> dict[str, str]:
    """Postcode -> ONS code of its district, read once per process (40,640 rows, about 5 MB)."""
    text = resources.files("talking.reference").joinpath("postcodes.csv").read_text(encoding="utf-8")
    return {row["postcode"]: row["ons_code"] for row in csv.DictReader(text.splitlines())}


def district_of_postcode(text: str) -> District:
    """The district a postcode lies in, or PostcodeNotFound with a message a resident can act on."""
    postcode = normalise_postcode(text)
    if postcode is None:
        raise PostcodeNotFound(f"Enter a full postcode, like {EXAMPLE}", well_formed=False)
    code = _district_codes().get(postcode)
    if code is None:
        raise PostcodeNotFound(
            f"{postcode} is not a postcode we know in Lancashire, Blackburn with Darwen or Blackpool:"
            " check it, or choose your area from the list",
            well_formed=True,
        )
    return districts_by_code()[code]
