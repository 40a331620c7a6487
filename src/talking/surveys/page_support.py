"""What the resident pages share: addresses, detours, closed surveys, and reading form fields."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response
from litestar.datastructures import FormMultiDict
from litestar.response import Template

from talking.errors import FieldError, InvitationUsed, SurveyNotFound
from talking.reference import districts_by_code
from talking.surveys.journey import QUESTION, Progress, reference_key
from talking.surveys.schemas import Survey, SurveyQuestion
from talking.surveys.services import utcnow
from talking.templating import RememberedPage
from talking.web.navigation import see_other

Req = Request[Any, Any, Any]

# Control characters cannot be shown in a page; a refused comment is shown again without them.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SurveyUnavailable(Exception):
    """A resident reached a survey that is not taking answers now (closed, or not open yet)."""

    def __init__(self, survey: Survey) -> None:
        super().__init__(f"survey {survey.id} is not open")
        self.survey = survey


class MembersOnly(Exception):
    """A members survey reached without an invitation: it is for invited panel members."""

    def __init__(self, survey: Survey) -> None:
        super().__init__(f"survey {survey.id} is for invited panel members")
        self.survey = survey


class Detour(Exception):
    """A page visited before the pages it depends on were answered: go to the first unanswered one."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def survey_unavailable(request: Req, exc: SurveyUnavailable) -> Response[Any]:
    """Say plainly that the survey is closed or not open yet (409 if the resident was sending answers)."""
    survey = exc.survey
    not_yet = survey.status == "open" and survey.opens_at is not None and utcnow() < survey.opens_at
    return Template(
        "surveys/closed.html",
        context={"survey": survey, "not_yet": not_yet},
        status_code=409 if request.method == "POST" else 200,
    )


def members_only(_request: Req, exc: MembersOnly) -> Response[Any]:
    """Explain that the survey is for invited panel members, and offer to join the panel (403)."""
    return Template("surveys/members_only.html", context={"survey": exc.survey}, status_code=403)


def already_answered(request: Req, exc: InvitationUsed) -> Response[Any]:
    """Say that this invitation has been answered (409 if the resident was sending answers)."""
    return Template("surveys/already_answered.html", status_code=409 if request.method == "POST" else 200)


def invited_start(survey: Survey, progress: Progress, details_url: str | None = None) -> Template:
    """An invited resident's start page: the district they answer for, and the first question still to answer.

    Shown by /i/{token} (with ``details_url``, the member's own page) and by the survey's start page
    for a journey that came that way (the token itself is not kept, so it cannot link there).
    """
    district = districts_by_code().get(progress.district or "")
    context = {
        "survey": survey,
        "district_name": district.name if district else progress.district,
        "details_url": details_url,
        "known": progress.known,
        "started": progress.answered("issues"),
        "start_url": page_url(survey.id, progress.first_unanswered(survey)),
    }
    # The same for everyone answering for one district, but for the link (shown only as escaped text):
    # remembered, as the open survey's start page is (templating.RememberedPage).
    return RememberedPage("surveys/invited.html", context=context, text=["details_url"] if details_url else [])


def survey_not_found(_request: Req, _exc: SurveyNotFound) -> Response[Any]:
    """The ordinary "Page not found" page."""
    return Template("errors/404.html", context={"status": 404}, status_code=404)


def detour(_request: Req, exc: Detour) -> Response[Any]:
    """Redirect to the page the resident should answer first."""
    return see_other(exc.url)


def page_url(survey_id: int, page: str | None = None, *, change: bool = False) -> str:
    """The address of a journey page (the start page when ``page`` is None)."""
    url = f"/surveys/{survey_id}" + (f"/{page.replace(QUESTION, 'questions/')}" if page else "")
    return url + "?change=1" if change else url


def page_of_field(field: str) -> str:
    """The page that asks for a field of a response, for links from the check page."""
    if field.startswith("answers."):
        return QUESTION + field.removeprefix("answers.")
    return {"district": "district", "comment": "comment", "age_band": "about-you", "sex": "about-you"}.get(
        field.split("[", 1)[0], "issues"
    )


def text_field(form: FormMultiDict, name: str) -> str | None:
    """A single text field; a missing field, an empty one or an uploaded file count as no answer."""
    value = form.get(name)
    return value if isinstance(value, str) and value != "" else None


def checkbox_values(form: FormMultiDict, name: str) -> list[str]:
    """Every value of a checkbox field (a single ticked box is still a list)."""
    return [value for value in form.getall(name, []) if isinstance(value, str)]


def messages(errors: list[FieldError], field_id: str | None = None) -> dict[str, str]:
    """{field id: first message}; "picks[2]" belongs to the "picks" checkboxes."""
    found: dict[str, str] = {}
    for error in errors:
        found.setdefault(field_id or error.field.split("[", 1)[0], error.message)
    return found


def shown_answer(question: SurveyQuestion, value: str | list[str] | None) -> str | list[str] | None:
    """An extra question's answer as the resident reads it: option labels, or their own words."""
    if question.kind == "free_text" or value is None:
        return value
    labels = {option.code: option.label for option in question.options}
    return [labels.get(code, code) for code in value] if isinstance(value, list) else labels.get(value, value)


def is_change(request: Req) -> bool:
    """Whether the resident came from a Change link on the check page."""
    return request.query_params.get("change") == "1"


def answered_before(request: Req, survey_id: int) -> bool:
    """Whether this browser's session already holds a confirmation for the survey (households share devices)."""
    return bool(request.session.get(reference_key(survey_id)))
