"""The "where you live" page's answer: an area chosen from the list, or a postcode that finds it.

A chosen area wins (the resident said so); otherwise a postcode is looked up in OS Code-Point
Open (talking.reference.postcodes). The postcode itself is never kept: it finds the district and
is forgotten, except to show it again on the page when something is wrong.
"""

from __future__ import annotations

from typing import NamedTuple

from talking.reference.postcodes import PostcodeNotFound, district_of_postcode
from talking.surveys.schemas import Survey
from talking.surveys.validation import district_errors

# A postcode is at most 8 characters as written; well over that is not one (and is not shown back whole).
MAX_POSTCODE_CHARS = 16


class WhereYouLive(NamedTuple):
    """The district found (None when refused), the errors by field id, and the postcode as typed."""

    district: str | None
    errors: dict[str, str]
    postcode: str


def where_you_live(chosen: str | None, postcode: str | None, survey: Survey) -> WhereYouLive:
    """The district from the page's two ways to answer, or why there is none."""
    typed = (postcode or "").strip()[:MAX_POSTCODE_CHARS]
    if chosen:
        errors = district_errors(chosen, survey)
        return WhereYouLive(None if errors else chosen, {"district": errors[0].message} if errors else {}, typed)
    if not typed:
        return WhereYouLive(None, {"postcode": "Enter your postcode, or choose your area from the list"}, typed)
    try:
        district = district_of_postcode(typed)
    except PostcodeNotFound as exc:
        return WhereYouLive(None, {"postcode": exc.message}, typed)
    if errors := district_errors(district.code, survey):
        return WhereYouLive(None, {"postcode": f"{typed.upper()} is in {district.name}: {errors[0].message}"}, typed)
    return WhereYouLive(district.code, {}, typed)
