"""Resident pages: one question per page, GOV.UK patterns, no JavaScript needed.

Answers so far are kept in the web session (see journey.py) and checked by the same rules as the
JSON API (validation.py). Every successful POST redirects (303); every refused one re-renders its
page with status 422, the answers kept, and a "There is a problem" summary.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from talking.errors import IdempotencyConflict, InvalidResponse, InvitationUsed, SurveyNotFound, SurveyNotOpen
from talking.params import RowId
from talking.rate_limits import SUBMIT
from talking.reference import AGE_BANDS, SEXES, issues_by_code
from talking.surveys.journey import QUESTION, Progress, order_from_positions, reference_key, session_key
from talking.surveys.page_contexts import page_context, question_of, start_context, template_of
from talking.surveys.page_support import (
    CONTROL_CHARACTERS,
    Detour,
    MembersOnly,
    Req,
    SurveyUnavailable,
    already_answered,
    answered_before,
    checkbox_values,
    detour,
    invited_start,
    is_change,
    members_only,
    messages,
    page_of_field,
    page_url,
    survey_not_found,
    survey_unavailable,
    text_field,
)
from talking.surveys.schemas import Survey
from talking.surveys.services import SurveyCatalogue, submit_response, utcnow
from talking.surveys.validation import (
    about_you_errors,
    answer_errors,
    clean_comment,
    comment_errors,
    pick_errors,
)
from talking.surveys.where_you_live import where_you_live
from talking.templating import RememberedPage
from talking.web.navigation import see_other

SURVEY = "/surveys/{survey_id:int}"


class ResidentPages(Controller):
    """The home page and the survey journey."""

    include_in_schema = False
    exception_handlers = {  # noqa: RUF012
        SurveyUnavailable: survey_unavailable,
        SurveyNotFound: survey_not_found,
        Detour: detour,
        MembersOnly: members_only,
        InvitationUsed: already_answered,
    }

    @staticmethod
    async def _survey(request: Req, survey_id: int, *, must_be_open: bool = True, invited_only: bool = True) -> Survey:
        """The survey; drafts are not found, closed ones say so, and members surveys need an invited journey."""
        catalogue: SurveyCatalogue = request.app.state.catalogue
        survey = await catalogue.get(survey_id)
        if survey.status == "draft":
            raise SurveyNotFound(survey_id)
        if must_be_open and not survey.is_open_at(utcnow()):
            raise SurveyUnavailable(survey)
        if invited_only and survey.audience == "members" and not ResidentPages._progress(request, survey_id).invitation:
            raise MembersOnly(survey)
        return survey

    @staticmethod
    def _progress(request: Req, survey_id: int) -> Progress:
        return Progress.from_session(request.session.get(session_key(survey_id)))

    async def _begin(self, request: Req, survey_id: int, page: str) -> tuple[Survey, Progress]:
        """The open survey and the answers so far; out of order, a redirect to the first unanswered page."""
        survey = await self._survey(request, survey_id)
        if page.startswith(QUESTION):
            question_of(survey, page.removeprefix(QUESTION))  # an unknown question is not found
        progress = self._progress(request, survey_id)
        if not progress.may_visit(survey, page):
            raise Detour(page_url(survey_id, progress.first_unanswered(survey)))
        return survey, progress

    @staticmethod
    def _page(
        request: Req,
        page: str,
        survey: Survey,
        progress: Progress,
        errors: dict[str, str] | None = None,
        **context: Any,
    ) -> Template:
        """Render a journey page; with errors, status 422.

        A page the resident has not answered yet shows nothing they typed, so it is the same for
        everyone arriving at it with the same earlier choices (the order page lists the issues
        picked): its HTML is remembered (see templating.RememberedPage). Answers already given and
        the check page, which shows them all, are rendered afresh.
        """
        is_check = page == "check"  # shows everything answered: never remembered, never a change
        change = is_change(request) and not is_check
        first_visit = not errors and not is_check and not progress.answered(page)
        return (RememberedPage if first_visit else Template)(
            template_of(page),
            context={
                "survey": survey,
                "errors": errors or {},
                "back_url": page_url(survey.id, "check" if change else progress.previous(survey, page)),
                # Explicit, so a #fragment from an error summary link does not follow the resident onwards.
                "form_action": page_url(survey.id, page, change=change),
                **context,
            },
            status_code=422 if errors else 200,
        )

    @staticmethod
    def _onward(request: Req, survey: Survey, page: str, progress: Progress) -> Redirect:
        """Keep the answers; then the next page, or back to the check page when changing an answer."""
        request.session[session_key(survey.id)] = progress.to_session()
        if is_change(request):
            target = progress.first_unanswered(survey)
            return see_other(page_url(survey.id, target, change=target != "check"))
        return see_other(page_url(survey.id, progress.next_after(survey, page)))

    # --- the pages -----------------------------------------------------------------------------

    @get("/", name="home")
    async def home(self, request: Req) -> Template:
        """List the surveys residents can answer now."""
        catalogue: SurveyCatalogue = request.app.state.catalogue
        return Template("surveys/home.html", context={"surveys": await catalogue.list_open()})

    @get(SURVEY, name="survey-start")
    async def start(self, request: Req, survey_id: RowId) -> Template:
        """The start page: what the survey asks and how long it takes."""
        survey = await self._survey(request, survey_id)
        if (progress := self._progress(request, survey_id)).invitation:
            return invited_start(survey, progress)  # as /i/{token} showed it, less the link to the member's details
        started = progress.district is not None
        context = start_context(survey, started=started, answered_before=answered_before(request, survey_id))
        return RememberedPage("surveys/start.html", context=context)

    @get(SURVEY + "/district")
    async def district(self, request: Req, survey_id: RowId) -> Template:
        """Which area do you live in?"""
        survey, progress = await self._begin(request, survey_id, "district")
        return self._page(request, "district", survey, progress, **page_context(survey, progress, "district"))

    @post(SURVEY + "/district")
    async def save_district(self, request: Req, survey_id: RowId) -> Template | Redirect:
        """Keep the area, or say what is wrong with it."""
        survey, progress = await self._begin(request, survey_id, "district")
        form = await request.form()
        chosen = text_field(form, "district")
        answer = where_you_live(chosen, text_field(form, "postcode"), survey)
        if answer.district is None:
            context = page_context(survey, progress, "district") | {"selected": chosen, "postcode": answer.postcode}
            return self._page(request, "district", survey, progress, answer.errors, **context)
        progress.district = answer.district
        return self._onward(request, survey, "district", progress)

    @get(SURVEY + "/issues")
    async def issues(self, request: Req, survey_id: RowId) -> Template:
        """Choose up to N issues."""
        survey, progress = await self._begin(request, survey_id, "issues")
        return self._page(request, "issues", survey, progress, **page_context(survey, progress, "issues"))

    @post(SURVEY + "/issues")
    async def save_issues(self, request: Req, survey_id: RowId) -> Template | Redirect:
        """Keep the picks, or say what is wrong with them."""
        survey, progress = await self._begin(request, survey_id, "issues")
        picks = checkbox_values(await request.form(), "picks")
        if errors := messages(pick_errors(survey, picks)):
            return self._page(request, "issues", survey, progress, errors, selected=picks, taxonomy=issues_by_code())
        progress.choose(picks)
        return self._onward(request, survey, "issues", progress)

    @get(SURVEY + "/order")
    async def order(self, request: Req, survey_id: RowId) -> Template:
        """Put the picks in order."""
        survey, progress = await self._begin(request, survey_id, "order")
        return self._page(request, "order", survey, progress, **page_context(survey, progress, "order"))

    @post(SURVEY + "/order")
    async def save_order(self, request: Req, survey_id: RowId) -> Template | Redirect:
        """Keep the order, or say which numbers are missing or shared."""
        survey, progress = await self._begin(request, survey_id, "order")
        form = await request.form()
        positions = {code: text_field(form, f"position-{code}") for code in progress.picks}
        ordered, problems = order_from_positions(progress.picks, positions, survey.label_of)
        if problems:
            errors = {f"position-{code}": message for code, message in problems.items()}
            context = {**page_context(survey, progress, "order"), "positions": positions}
            return self._page(request, "order", survey, progress, errors, **context)
        progress.picks, progress.ordered = ordered, True
        return self._onward(request, survey, "order", progress)

    @get(SURVEY + "/questions/{key:str}")
    async def question(self, request: Req, survey_id: RowId, key: FromPath[str]) -> Template:
        """One of the survey's own extra questions."""
        survey, progress = await self._begin(request, survey_id, QUESTION + key)
        return self._page(request, QUESTION + key, survey, progress, **page_context(survey, progress, QUESTION + key))

    @post(SURVEY + "/questions/{key:str}")
    async def save_question(self, request: Req, survey_id: RowId, key: FromPath[str]) -> Template | Redirect:
        """Keep the answer to an extra question, or say what is wrong with it."""
        survey, progress = await self._begin(request, survey_id, QUESTION + key)
        question = question_of(survey, key)
        form = await request.form()
        value: str | list[str] | None = (
            checkbox_values(form, "answer") if question.kind == "multiple_choice" else text_field(form, "answer")
        )
        if errors := messages(answer_errors(question, value), "answer"):
            if isinstance(value, str):
                value = CONTROL_CHARACTERS.sub("", value)
            return self._page(request, QUESTION + key, survey, progress, errors, question=question, value=value)
        progress.answer(key, clean_comment(value) if isinstance(value, str) else value)
        return self._onward(request, survey, QUESTION + key, progress)

    @get(SURVEY + "/comment")
    async def comment(self, request: Req, survey_id: RowId) -> Template:
        """Is there anything else you want to tell us?"""
        survey, progress = await self._begin(request, survey_id, "comment")
        return self._page(request, "comment", survey, progress, **page_context(survey, progress, "comment"))

    @post(SURVEY + "/comment")
    async def save_comment(self, request: Req, survey_id: RowId) -> Template | Redirect:
        """Keep the comment, or say why it cannot be kept."""
        survey, progress = await self._begin(request, survey_id, "comment")
        comment = text_field(await request.form(), "comment")
        if errors := messages(comment_errors(comment)):
            return self._page(
                request, "comment", survey, progress, errors, comment=CONTROL_CHARACTERS.sub("", comment or "")
            )
        progress.comment, progress.comment_done = clean_comment(comment), True
        return self._onward(request, survey, "comment", progress)

    @get(SURVEY + "/about-you")
    async def about_you(self, request: Req, survey_id: RowId) -> Template:
        """Optional questions about the resident."""
        survey, progress = await self._begin(request, survey_id, "about-you")
        return self._page(request, "about-you", survey, progress, **page_context(survey, progress, "about-you"))

    @post(SURVEY + "/about-you")
    async def save_about_you(self, request: Req, survey_id: RowId) -> Template | Redirect:
        """Keep the answers about the resident (both optional)."""
        survey, progress = await self._begin(request, survey_id, "about-you")
        form = await request.form()
        age_band, sex = text_field(form, "age_band"), text_field(form, "sex")
        if errors := messages(about_you_errors(age_band, sex)):
            return self._page(
                request,
                "about-you",
                survey,
                progress,
                errors,
                age_bands=AGE_BANDS,
                sexes=SEXES,
                age_band=age_band,
                sex=sex,
            )
        progress.age_band, progress.sex, progress.about_you_done = age_band, sex, True
        return self._onward(request, survey, "about-you", progress)

    @get(SURVEY + "/check")
    async def check(self, request: Req, survey_id: RowId) -> Template:
        """Check your answers before sending them."""
        survey, progress = await self._begin(request, survey_id, "check")
        return self._check_page(request, survey, progress)

    def _check_page(
        self, request: Req, survey: Survey, progress: Progress, errors: dict[str, str] | None = None
    ) -> Template:
        return self._page(
            request,
            "check",
            survey,
            progress,
            errors,
            **page_context(survey, progress, "check"),
            answered_before=answered_before(request, survey.id),
            error_hrefs={
                field: page_url(survey.id, page_of_field(field), change=True)
                for field in errors or {}
                if field != "submit"
            },
        )

    @post(SURVEY + "/check")
    async def submit(self, request: Req, survey_id: RowId) -> Template | Redirect:
        """Send the response; then forget the answers and remember the reference."""
        survey = await self._survey(request, survey_id)
        progress = self._progress(request, survey_id)
        if not progress.may_visit(survey, "check"):
            # Submit pressed twice: the first press already sent the answers and forgot them.
            if progress.district is None and request.session.get(reference_key(survey_id)):
                return see_other(page_url(survey_id, "done"))
            return see_other(page_url(survey_id, progress.first_unanswered(survey)))
        # Over the limit: a page saying how long to wait; the answers stay in the session for then.
        await request.app.state.rate_limiter.hit(SUBMIT, request.scope)
        try:
            receipt = await submit_response(
                request.app.state.writer,
                survey,
                progress.response(survey),
                channel="web",
                idempotency_key=progress.key,
                repeat_in_browser=answered_before(request, survey_id),
                invitation=progress.invitation_hash(),
            )
        except SurveyNotOpen as exc:
            raise SurveyUnavailable(survey) from exc
        except InvitationUsed as used:  # answered already (another window, device or the API): nothing stored
            request.session.pop(session_key(survey_id), None)
            return already_answered(request, used)
        except InvalidResponse as exc:
            errors = {}
            for error in exc.errors:
                errors.setdefault(error.field.split("[", 1)[0], error.message)
            return self._check_page(request, survey, progress, errors)
        except IdempotencyConflict:
            # Sent from another window with other answers: this journey's key is spent, so take a new one.
            progress.key = Progress().key
            request.session[session_key(survey_id)] = progress.to_session()
            return self._check_page(
                request,
                survey,
                progress,
                {"submit": "Your answers were sent from another window. Check them and submit again."},
            )
        request.session.pop(session_key(survey_id), None)
        request.session[reference_key(survey_id)] = receipt.reference
        return see_other(page_url(survey_id, "done"))

    @get(SURVEY + "/done")
    async def done(self, request: Req, survey_id: RowId) -> Template | Redirect:
        """The confirmation, with the response's reference."""
        survey = await self._survey(request, survey_id, must_be_open=False, invited_only=False)
        reference = request.session.get(reference_key(survey_id))
        if not reference:
            return see_other(page_url(survey_id))
        # The reference is this resident's alone, but only ever shown as text: the page is remembered.
        return RememberedPage(
            "surveys/done.html", context={"survey": survey, "reference": reference}, text=["reference"]
        )
