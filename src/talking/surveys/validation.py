"""The rules for a resident's answers: one place, used by the API and the pages alike."""

from __future__ import annotations

from talking.errors import FieldError
from talking.reference import AGE_BAND_CODES, SEX_CODES, districts_by_code
from talking.surveys.schemas import MAX_COMMENT_CHARS, ResponseCreate, Survey, SurveyQuestion
from talking.text import clean_text, is_blank, text_problem


def clean_comment(comment: str | None) -> str | None:
    """A comment or free-text answer as stored (talking.text's rule), blank to None."""
    if comment is None:
        return None
    return clean_text(comment, multiline=True) or None


def district_errors(district: str | None, survey: Survey | None = None) -> list[FieldError]:
    """Errors in the district answer (and, given the survey, whether it covers that district)."""
    if not district:
        return [FieldError("district", "Select the area where you live")]
    if district not in districts_by_code():
        return [FieldError("district", f"Unknown district code {district!r}: use a code from /api/v1/districts")]
    if survey is not None and not survey.covers(district):
        name = districts_by_code()[district].name
        return [FieldError("district", f"This survey is not asking residents of {name}")]
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


def comment_errors(comment: str | None, field: str = "comment") -> list[FieldError]:
    """Errors in free text, by talking.text's rule: too long, control or direction characters."""
    if comment is None:
        return []
    problem = text_problem(comment, label="Text", max_chars=MAX_COMMENT_CHARS, multiline=True)
    return [FieldError(field, problem)] if problem else []


def answer_errors(question: SurveyQuestion, value: str | list[str] | None) -> list[FieldError]:
    """Errors in the answer to one extra question (None means not answered)."""
    field = f"answers.{question.key}"
    if question.kind == "free_text" and isinstance(value, str) and (refused := comment_errors(value, field)):
        return refused  # before the blank check: a NUL alone is refused, not taken as no answer
    if value is None or value == [] or (isinstance(value, str) and is_blank(value)):
        return [FieldError(field, f"Answer the question: {question.prompt}")] if question.required else []
    codes = {o.code for o in question.options}
    if question.kind == "free_text":
        if not isinstance(value, str):
            return [FieldError(field, "Expected text")]
        return comment_errors(value, field)
    if question.kind == "multiple_choice":
        if not isinstance(value, list):
            return [FieldError(field, "Expected a list of option codes")]
        if len(set(value)) != len(value):
            return [FieldError(field, "An option is chosen more than once")]
        unknown = [v for v in value if v not in codes]
        return [FieldError(field, f"Unknown options {unknown}")] if unknown else []
    if not isinstance(value, str):
        return [FieldError(field, "Expected one option code")]
    return [] if value in codes else [FieldError(field, f"Unknown option {value!r}")]


def answers_errors(survey: Survey, answers: dict[str, str | list[str]]) -> list[FieldError]:
    """Errors across all extra answers: unknown questions, missing required ones, bad values."""
    errors = [
        FieldError(f"answers.{key}", "This survey does not ask that question")
        for key in answers
        if survey.question(key) is None
    ]
    for question in survey.questions:
        errors.extend(answer_errors(question, answers.get(question.key)))
    return errors


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
    if response.district is None:
        where = [FieldError("district", "Give the ONS code of the resident's district (from /api/v1/districts)")]
    else:
        where = district_errors(response.district, survey)
    errors = [
        *where,
        *pick_errors(survey, response.picks),
        *comment_errors(response.comment),
        *about_you_errors(response.age_band, response.sex),
        *answers_errors(survey, response.answers),
    ]
    if response.invitation is not None and survey.audience == "open":
        errors.append(
            FieldError("invitation", "This survey is open to everyone: send the answers without an invitation")
        )
    if not survey.ask_about_you:
        errors.extend(
            FieldError(name, "This survey does not ask about you")
            for name, value in (("age_band", response.age_band), ("sex", response.sex))
            if value is not None
        )
    return errors
