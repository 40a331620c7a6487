"""Staff pages for questionnaires: the survey list, the builder, extra questions, and each survey's page.

Analysts may read the list and the survey pages; only staff (and admins) change a survey. The rules
are the services' (services.py): these pages read forms, call a service, and render or redirect.
Every successful POST redirects (303) after committing (advanced-alchemy commits only 2xx answers);
a refused one re-renders its page with 422 (bad input) or 409 (the survey's state does not allow it).
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from talking.errors import InvalidResponse, SurveyNotFound, WrongSurveyState
from talking.invitations.rates import response_rates
from talking.params import RowId
from talking.questionnaires import progress, services
from talking.questionnaires.dates import MOMENT_IDS, Moment, date_field_ids, moment_of, parse_dates, read_moment
from talking.questionnaires.forms import (
    ISSUE_GROUPS,
    QUESTION_FIELD_IDS,
    QUESTION_KINDS,
    QuestionForm,
    SurveyForm,
    build_question,
    build_survey,
    form_of,
    in_page_order,
    next_key,
    question_field_ids,
    read_question_form,
    read_survey_form,
    survey_field_ids,
)
from talking.questionnaires.schemas import SurveyCreate, SurveySummary
from talking.questionnaires.views import survey_view
from talking.reference import districts, issues
from talking.surveys.schemas import Survey
from talking.surveys.services import SurveyCatalogue, load_surveys
from talking.web.forms import form_text
from talking.web.guards import requires
from talking.web.navigation import flash, see_other, take_flash
from talking.web.people import client_ip, principal_of
from talking.web.request_bodies import MAX_DEFINITION_BODY_BYTES
from talking.web.times import staff_time

Req = Request[Any, Any, Any]
SURVEY = "/surveys/{survey_id:int}"
STAFF_ONLY: list[Any] = [requires("staff")]


class SurveyRow(msgspec.Struct, frozen=True):
    """One survey in the staff list."""

    id: int
    title: str
    state: str
    wave: int
    opens: str
    closes: str
    responses: int


def _row(summary: SurveySummary) -> SurveyRow:
    return SurveyRow(
        id=summary.id,
        title=summary.title,
        state=summary.state,
        wave=summary.wave,
        opens=staff_time(summary.opens_at) if summary.opens_at else "When published",
        closes=staff_time(summary.closes_at) if summary.closes_at else "When closed by staff",
        responses=summary.responses,
    )


async def _load(db_session: AsyncSession, survey_id: int) -> Survey:
    """The survey as this request's transaction sees it."""
    found = await load_surveys(db_session, [survey_id])  # type: ignore[arg-type]
    if not found:
        raise SurveyNotFound(survey_id)
    return found[0]


def _saved_definition(survey: Survey) -> SurveyCreate:
    """The survey's whole definition, dates included, as update_draft takes it."""
    return msgspec.structs.replace(services.definition_of(survey), opens_at=survey.opens_at, closes_at=survey.closes_at)


def _forget(request: Req, survey_id: int) -> None:
    """This worker stops serving the old status at once; others within the catalogue's few seconds."""
    catalogue: SurveyCatalogue = request.app.state.catalogue
    catalogue.forget(survey_id)


def _survey_form_page(
    typed: SurveyForm, *, survey: Survey | None = None, errors: dict[str, str] | None = None
) -> Template:
    """The create form, or a draft's edit form."""
    typed = typed.with_spare_rows()
    return Template(
        "questionnaires/survey_form.html",
        context={
            "form": typed,
            "survey": survey,
            "issue_groups": [
                (source, name, [i for i in issues() if i.source == source]) for source, name in ISSUE_GROUPS
            ],
            "all_districts": districts(),
            "errors": in_page_order(errors or {}, typed.field_ids()),
        },
        status_code=422 if errors else 200,
    )


def _locked_page(survey: Survey, *, status: int = 200) -> Template:
    """A published survey's questions cannot change: say so, and offer the next wave."""
    return Template("questionnaires/locked.html", context={"survey": survey}, status_code=status)


class QuestionnairePages(Controller):
    """The staff side of surveys: build, publish, watch, close and copy them."""

    path = "/staff"
    include_in_schema = False
    guards: ClassVar = [requires("analyst")]
    # A question's options in a non-Latin script percent-encode to 9 bytes a character.
    request_max_body_size = MAX_DEFINITION_BODY_BYTES

    @get("/", name="staff-home")
    async def dashboard(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template:
        """Every survey, newest first, with its state and responses so far."""
        rows = [_row(s) for s in await progress.list_surveys(db_session)]
        return Template(
            "questionnaires/dashboard.html",
            context={"surveys": rows, "can_change": principal_of(request).can("staff"), "flash": take_flash(request)},
        )

    # --- the builder ------------------------------------------------------------------------------

    @get("/surveys/new", guards=STAFF_ONLY)
    async def new_survey(self) -> Template:
        """An empty form: every district ticked, five picks, the "about you" questions asked."""
        return _survey_form_page(SurveyForm())

    @post("/surveys/new", guards=STAFF_ONLY)
    async def create_survey(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template | Redirect:
        """Save a new draft, or show everything wrong with the form at once."""
        typed = read_survey_form(await request.form())
        built = build_survey(typed)
        try:
            if built.errors:  # the service's rules still say what else is wrong, so all is listed at once
                raise InvalidResponse(services.survey_problems(built.data))
            survey_id = await services.create_survey(
                db_session, built.data, actor=principal_of(request), ip=client_ip(request)
            )
        except InvalidResponse as exc:
            errors = {**survey_field_ids(exc.errors, built.issue_ids), **built.errors}
            return _survey_form_page(typed, errors=errors)
        await db_session.commit()
        flash(request, "Survey created as a draft")
        return see_other(f"/staff/surveys/{survey_id}")

    @get(SURVEY + "/edit", guards=STAFF_ONLY)
    async def edit_survey(self, db_session: NamedDependency[AsyncSession], survey_id: RowId) -> Template:
        """A draft's form, filled in; a published survey's questions are locked."""
        survey = await _load(db_session, survey_id)
        if survey.status != "draft":
            return _locked_page(survey)
        return _survey_form_page(form_of(survey), survey=survey)

    @post(SURVEY + "/edit", guards=STAFF_ONLY)
    async def update_survey(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Replace a draft's definition (its extra questions stay as they are)."""
        survey = await _load(db_session, survey_id)
        if survey.status != "draft":
            return _locked_page(survey, status=409)
        typed = read_survey_form(await request.form())
        built = build_survey(typed, services.definition_of(survey).questions)
        try:
            if built.errors:
                raise InvalidResponse(services.survey_problems(built.data))
            await services.update_draft(
                db_session, survey_id, built.data, actor=principal_of(request), ip=client_ip(request)
            )
        except InvalidResponse as exc:
            errors = {**survey_field_ids(exc.errors, built.issue_ids), **built.errors}
            return _survey_form_page(typed, survey=survey, errors=errors)
        except WrongSurveyState:
            return _locked_page(survey, status=409)
        await db_session.commit()
        flash(request, "Changes saved")
        return see_other(f"/staff/surveys/{survey_id}")

    # --- extra questions --------------------------------------------------------------------------

    @staticmethod
    def _questions_page(
        request: Req, survey: Survey, typed: QuestionForm | None = None, errors: dict[str, str] | None = None
    ) -> Template:
        return Template(
            "questionnaires/questions.html",
            context={
                "survey": survey,
                "form": typed or QuestionForm(),
                "kinds": QUESTION_KINDS,
                "kind_names": {kind: name for kind, name, _hint in QUESTION_KINDS},
                "errors": in_page_order(errors or {}, QUESTION_FIELD_IDS),
                "flash": None if errors else take_flash(request),
            },
            status_code=422 if errors else 200,
        )

    async def _change_questions(
        self, request: Req, db_session: AsyncSession, survey: Survey, definition: SurveyCreate, done: str
    ) -> Redirect:
        """Save a draft's rebuilt definition and go back to its questions."""
        await services.update_draft(
            db_session, survey.id, definition, actor=principal_of(request), ip=client_ip(request)
        )
        await db_session.commit()
        flash(request, done)
        return see_other(f"/staff/surveys/{survey.id}/questions")

    @get(SURVEY + "/questions", guards=STAFF_ONLY)
    async def questions(self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId) -> Template:
        """A draft's extra questions, and a form to add one."""
        survey = await _load(db_session, survey_id)
        if survey.status != "draft":
            return _locked_page(survey)
        return self._questions_page(request, survey)

    @post(SURVEY + "/questions", guards=STAFF_ONLY)
    async def add_question(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Add a question at the end."""
        survey = await _load(db_session, survey_id)
        if survey.status != "draft":
            return _locked_page(survey, status=409)
        typed = read_question_form(await request.form())
        question, errors = build_question(typed, next_key({q.key for q in survey.questions}))
        if question is None:
            return self._questions_page(request, survey, typed, errors)
        definition = _saved_definition(survey)
        definition = msgspec.structs.replace(definition, questions=(*definition.questions, question))
        try:
            return await self._change_questions(request, db_session, survey, definition, "Question added")
        except InvalidResponse as exc:
            return self._questions_page(request, survey, typed, question_field_ids(exc.errors, len(survey.questions)))

    @post(SURVEY + "/questions/{key:str}/remove", guards=STAFF_ONLY)
    async def remove_question(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId, key: FromPath[str]
    ) -> Template | Redirect:
        """Take a question out of a draft."""
        survey = await _load(db_session, survey_id)
        if survey.status != "draft":
            return _locked_page(survey, status=409)
        definition = _saved_definition(survey)
        kept = tuple(q for q in definition.questions if q.key != key)
        if len(kept) == len(definition.questions):
            raise NotFoundException()
        definition = msgspec.structs.replace(definition, questions=kept)
        return await self._change_questions(request, db_session, survey, definition, "Question removed")

    @post(SURVEY + "/questions/{key:str}/move", guards=STAFF_ONLY)
    async def move_question(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId, key: FromPath[str]
    ) -> Template | Redirect:
        """Move a question one place up or down (at either end, it stays where it is)."""
        survey = await _load(db_session, survey_id)
        if survey.status != "draft":
            return _locked_page(survey, status=409)
        step = {"up": -1, "down": 1}.get(form_text(await request.form(), "direction"))
        definition = _saved_definition(survey)
        keys = [q.key for q in definition.questions]
        if key not in keys or step is None:
            raise NotFoundException()
        moved = list(definition.questions)
        here = keys.index(key)
        there = min(max(here + step, 0), len(moved) - 1)
        moved[here], moved[there] = moved[there], moved[here]
        definition = msgspec.structs.replace(definition, questions=tuple(moved))
        return await self._change_questions(
            request, db_session, survey, definition, f"Question moved {'up' if step < 0 else 'down'}"
        )

    # --- a survey's page and its actions ----------------------------------------------------------

    async def _survey_page(
        self,
        request: Req,
        db_session: AsyncSession,
        survey_id: int,
        errors: dict[str, str] | None = None,
        dates: tuple[Moment, Moment] | None = None,
        status: int = 200,
    ) -> Template:
        survey = await _load(db_session, survey_id)
        summaries = await progress.list_surveys(db_session)
        view = survey_view(
            survey,
            summaries,
            await progress.district_counts(db_session, survey_id),
            can_change=principal_of(request).can("staff"),
            rates=await response_rates(db_session, survey_id) if survey.audience == "members" else None,
        )
        opens, closes = dates or (moment_of(survey.opens_at), moment_of(survey.closes_at, end_of_day=True))
        return Template(
            "questionnaires/survey.html",
            context={
                "survey": survey,
                "view": view,
                "opens": opens,
                "closes": closes,
                "errors": in_page_order(errors or {}, ["actions", *MOMENT_IDS]),
                "flash": None if errors else take_flash(request),
            },
            status_code=status,
        )

    @get(SURVEY)
    async def survey(self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId) -> Template:
        """A survey's state, definition and responses by district, with the actions its state allows."""
        return await self._survey_page(request, db_session, survey_id)

    async def _act(self, request: Req, db_session: AsyncSession, survey_id: int, action: str) -> Template | Redirect:
        """Publish or close: refused actions are shown on the survey's page."""
        act = {"publish": services.publish, "close": services.close}[action]
        try:
            await act(db_session, survey_id, actor=principal_of(request), ip=client_ip(request))
        except WrongSurveyState as exc:
            return await self._survey_page(request, db_session, survey_id, {"actions": str(exc)}, status=409)
        except InvalidResponse as exc:
            return await self._survey_page(request, db_session, survey_id, date_field_ids(exc.errors), status=422)
        await db_session.commit()
        _forget(request, survey_id)
        flash(request, "Survey published" if action == "publish" else "Survey closed")
        return see_other(f"/staff/surveys/{survey_id}")

    @post(SURVEY + "/publish", guards=STAFF_ONLY)
    async def publish(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Publish a draft: it opens now, or at its opening time."""
        return await self._act(request, db_session, survey_id, "publish")

    @post(SURVEY + "/close", guards=STAFF_ONLY)
    async def close(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Stop taking responses now."""
        return await self._act(request, db_session, survey_id, "close")

    @post(SURVEY + "/waves", guards=STAFF_ONLY)
    async def new_wave(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Copy the survey as a draft of its next wave, and go to it."""
        survey = await _load(db_session, survey_id)
        if survey.status == "draft":  # a draft can still be edited: a copy would only confuse
            message = "Publish this survey before starting its next wave, or edit it instead"
            return await self._survey_page(request, db_session, survey_id, {"actions": message}, status=409)
        wave_id = await services.new_wave(db_session, survey_id, actor=principal_of(request), ip=client_ip(request))
        await db_session.commit()
        flash(request, f"Wave {survey.wave + 1} started as a draft copy of wave {survey.wave}")
        return see_other(f"/staff/surveys/{wave_id}")

    @post(SURVEY + "/dates", guards=STAFF_ONLY)
    async def change_dates(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Change when the survey opens and closes (its questions stay as they are)."""
        form = await request.form()
        typed = (read_moment(form, "opens"), read_moment(form, "closes"))
        opens_at, closes_at, errors = parse_dates(*typed)
        if errors:
            return await self._survey_page(request, db_session, survey_id, errors, typed, status=422)
        try:
            await services.schedule(
                db_session, survey_id, opens_at, closes_at, actor=principal_of(request), ip=client_ip(request)
            )
        except WrongSurveyState as exc:
            return await self._survey_page(request, db_session, survey_id, {"actions": str(exc)}, typed, status=409)
        except InvalidResponse as exc:
            return await self._survey_page(request, db_session, survey_id, date_field_ids(exc.errors), typed, 422)
        await db_session.commit()
        _forget(request, survey_id)
        flash(request, "Dates changed")
        return see_other(f"/staff/surveys/{survey_id}")
