"""The preview: a survey's resident pages as residents will see them, for staff, in any state (drafts too).

Each page is rendered by the resident template itself, with the context the resident pages build
(talking.surveys.page_contexts.page_context), inside templates/surveys/preview.html, which adds a
"Preview" banner and Previous/Next links. Pages that depend on earlier answers (the order page, the
check page) show example answers. Nothing can be sent: the forms lose their method, action and CSRF
token and their buttons are disabled, and links into the resident journey stay inside the preview.

Staff use it, but it lives with the resident pages because it is them: a change to a resident page
changes its preview in the same place, and no other feature borrows the resident page code.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import msgspec
from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template
from markupsafe import Markup

from talking.params import RowId
from talking.reference import districts
from talking.surveys.journey import QUESTION, Progress
from talking.surveys.page_contexts import page_context, start_context, template_of
from talking.surveys.schemas import Survey, SurveyQuestion
from talking.surveys.services import SurveyCatalogue
from talking.web.guards import requires

Req = Request[Any, Any, Any]
EXAMPLE_REFERENCE = "LT-PREV-IEW0"
EXAMPLE_COMMENT = "An example comment: cars speed past the school at home time."
EXAMPLE_TEXT = "An example answer in a resident's own words."
STEP_NAMES = {
    "start": "Start page",
    "district": "Which area do you live in?",
    "issues": "Which issues matter most to you?",
    "order": "Put the issues in order",
    "comment": "Anything else",
    "about-you": "About you",
    "check": "Check your answers",
    "done": "Confirmation",
}

_FORM_TAG = re.compile(r"<form\b[^>]*>")
_SENDING_ATTRIBUTE = re.compile(r'\s(?:method|action)="[^"]*"')
_CSRF_INPUT = re.compile(r'<input type="hidden" name="_csrf_token"[^>]*>')
_BUTTON = re.compile(r"<button\b")


def preview_url(survey_id: int, step: str = "start") -> str:
    """The address of one preview page."""
    base = f"/staff/surveys/{survey_id}/preview"
    if step == "start":
        return base
    return f"{base}/questions/{step.removeprefix(QUESTION)}" if step.startswith(QUESTION) else f"{base}/{step}"


def _example_answer(question: SurveyQuestion) -> str | list[str]:
    if question.kind == "free_text":
        return EXAMPLE_TEXT
    if question.kind == "agreement":
        return "agree"
    first = question.options[0].code if question.options else ""
    return [first] if question.kind == "multiple_choice" else first


def example_progress(survey: Survey) -> Progress:
    """A resident who has answered everything, with example answers."""
    covered = [d.code for d in districts() if survey.covers(d.code)]
    return Progress(
        key="preview",
        district=covered[0] if covered else None,
        picks=[issue.code for issue in survey.issues[: min(survey.max_picks, 3)]],
        ordered=True,
        answers={question.key: _example_answer(question) for question in survey.questions},
        questions_done=[question.key for question in survey.questions],
        comment=EXAMPLE_COMMENT,
        comment_done=True,
        about_you_done=True,
    )


def arriving_at(example: Progress, page: str) -> Progress:
    """The example resident as they first reach ``page``: everything before it answered, nothing on it."""
    if page == "district":
        return msgspec.structs.replace(example, district=None)
    if page == "issues":
        return msgspec.structs.replace(example, picks=[], ordered=False)
    if page == "order":
        return msgspec.structs.replace(example, ordered=False)
    if page.startswith(QUESTION):
        key = page.removeprefix(QUESTION)
        return msgspec.structs.replace(example, answers={k: v for k, v in example.answers.items() if k != key})
    if page == "comment":
        return msgspec.structs.replace(example, comment=None)
    return example


def steps(survey: Survey) -> list[str]:
    """Every page of the preview, in the order a resident meets them."""
    return ["start", *example_progress(survey).pages(survey), "done"]


def inert(html: str, survey_id: int) -> Markup:
    """A rendered page that cannot send anything, whose journey links stay in the preview."""
    html = _FORM_TAG.sub(lambda tag: _SENDING_ATTRIBUTE.sub("", tag.group(0)), html)
    html = _CSRF_INPUT.sub("", html)
    html = _BUTTON.sub('<button disabled aria-disabled="true"', html)
    journey = re.compile(rf'href="/surveys/{survey_id}(/[^"?#]*)?(?:\?[^"]*)?"')

    def into_preview(link: re.Match[str]) -> str:
        path = (link.group(1) or "").strip("/") or "start"
        if path.startswith("questions/"):
            path = QUESTION + path.removeprefix("questions/")
        return f'href="{preview_url(survey_id, path)}"'

    return Markup(journey.sub(into_preview, html))  # noqa: S704 (already-escaped template output)


def _step_name(survey: Survey, step: str) -> str:
    if step.startswith(QUESTION):
        question = survey.question(step.removeprefix(QUESTION))
        return question.prompt if question else step
    return STEP_NAMES.get(step, step)


def preview_page(survey: Survey, step: str) -> Template:
    """One resident page of ``survey`` as a preview."""
    order = steps(survey)
    if step not in order:
        raise NotFoundException()
    index = order.index(step)
    example = example_progress(survey)
    context: dict[str, Any]
    if step == "start":
        context, template = start_context(survey, started=False), "surveys/start.html"
    elif step == "done":
        context, template = {"survey": survey, "reference": EXAMPLE_REFERENCE}, "surveys/done.html"
    else:
        progress = arriving_at(example, step)
        context = {
            "survey": survey,
            "errors": {},
            "back_url": preview_url(survey.id, order[index - 1]),
            "form_action": "",
            **page_context(survey, progress, step),
        }
        template = template_of(step)
    neighbours = {
        name: {"href": preview_url(survey.id, order[at]), "labelText": _step_name(survey, order[at])}
        for name, at in (("previous", index - 1), ("next", index + 1))
        if 0 <= at < len(order)
    }
    return Template(
        "surveys/preview.html",
        context={
            **context,
            "resident_template": template,
            "step_number": index + 1,
            "step_count": len(order),
            "neighbours": neighbours,
            "preview_only": lambda html: inert(html, survey.id),
        },
    )


class PreviewPages(Controller):
    """A survey's resident pages, one at a time, for staff and analysts; nothing is saved."""

    path = "/staff/surveys/{survey_id:int}/preview"
    include_in_schema = False
    guards: ClassVar = [requires("analyst")]

    @staticmethod
    async def _survey(request: Req, survey_id: int) -> Survey:
        catalogue: SurveyCatalogue = request.app.state.catalogue
        return await catalogue.load(survey_id)  # as saved now, in any state

    @get("/")
    async def start(self, request: Req, survey_id: RowId) -> Template:
        """The start page."""
        return preview_page(await self._survey(request, survey_id), "start")

    @get("/questions/{key:str}")
    async def question(self, request: Req, survey_id: RowId, key: FromPath[str]) -> Template:
        """One of the survey's extra questions."""
        return preview_page(await self._survey(request, survey_id), QUESTION + key)

    @get("/{page:str}")
    async def page(self, request: Req, survey_id: RowId, page: FromPath[str]) -> Template:
        """Any other page of the journey, the confirmation included."""
        if page.startswith(QUESTION) or page == "start":
            raise NotFoundException()
        return preview_page(await self._survey(request, survey_id), page)
