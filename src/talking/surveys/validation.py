"""The rules for a resident's answers: one place, used by the API and the pages alike."""

from __future__ import annotations

import re

from talking.reference import AGE_BAND_CODES, SEX_CODES, districts_by_code
from talking.surveys.schemas import MAX_COMMENT_CHARS, FieldError, ResponseCreate, Survey

# C0 control characters other than tab, newline and carriage return (NUL included) have no place
# in a comment: they break CSV exports and some databases refuse NUL outright.
_FORBIDDEN_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_comment(comment: str | None) -> str | None:
    """Normalise a comment: line endings to \\n, surrounding space trimmed, empty to None."""
    if comment is None:
        return None
    comment = comment.replace("\r\n", "\n").replace("\r", "\n").strip()
    return comment or None


def district_errors(district: str | None) -> list[FieldError]:
    """Errors in the district answer."""
    if not district:
        return [FieldError("district", "Select the area where you live")]
    if district not in districts_by_code():
        return [FieldError("district", f"Unknown district code {district!r}: use a code from /api/v1/districts")]
    return []


def pick_errors(survey: Survey, picks: list[str]) -> list[FieldError]:
    """Errors in the picks: none, too many, duplicated, or not offered by this survey."""
    if not picks:
        return [FieldError("picks", "Select at least one issue")]
    errors: list[FieldError] = []
    if len(picks) > survey.max_picks:
        errors.append(FieldError("picks", f"Select no more than {survey.max_picks} issues"))
    offered = survey.issue_codes()
    seen: set[str] = set()
    for position, code in enumerate(picks):
        if code in seen:
            errors.append(FieldError(f"picks[{position}]", f"Issue {code!r} is picked more than once"))
        elif code not in offered:
            errors.append(FieldError(f"picks[{position}]", f"Issue {code!r} is not one of this survey's issues"))
        seen.add(code)
    return errors


def comment_errors(comment: str | None) -> list[FieldError]:
    """Errors in the free-text comment: too long, or holding control characters."""
    if comment is None:
        return []
    if _FORBIDDEN_CONTROL.search(comment):
        return [FieldError("comment", "Comment must not contain control characters such as NUL")]
    if len(clean_comment(comment) or "") > MAX_COMMENT_CHARS:
        return [FieldError("comment", f"Comment must be {MAX_COMMENT_CHARS:,} characters or fewer")]
    return []


def about_you_errors(age_band: str | None, sex: str | None) -> list[FieldError]:
    """Errors in the optional "about you" answers."""
    errors = []
    if age_band is not None and age_band not in AGE_BAND_CODES:
        errors.append(FieldError("age_band", f"Unknown age band {age_band!r}"))
    if sex is not None and sex not in SEX_CODES:
        errors.append(FieldError("sex", f"Unknown answer for sex {sex!r}"))
    return errors


def response_errors(survey: Survey, response: ResponseCreate) -> list[FieldError]:
    """Every error in a whole response; empty when it may be stored."""
    return [
        *district_errors(response.district),
        *pick_errors(survey, response.picks),
        *comment_errors(response.comment),
        *about_you_errors(response.age_band, response.sex),
    ]
