"""JSON API v1 for residents' answers: reference lists, survey definitions, and responses."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from litestar import Controller, Request, Response, get, post
from litestar.params import HeaderParameter, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from talking.openapi import BY_BODY, BY_ID, problems
from talking.params import RowId
from talking.problems import problem
from talking.rate_limits import SUBMIT
from talking.reference import AGE_BANDS, SEXES, District, Issue, districts, issues
from talking.surveys.schemas import MAX_COMMENT_CHARS, MAX_PICKS_LIMIT, Receipt, ResponseCreate, Survey
from talking.surveys.services import SurveyCatalogue, submit_api_response
from talking.surveys.writer import ResponseWriter

# Printable ASCII without spaces, as the IETF Idempotency-Key draft expects of a key.
_IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,255}$")

# A response is a few hundred bytes; anything near this is not a resident's answer.
MAX_RESPONSE_BODY_BYTES = 16 * 1024


def idempotency_key_problem(idempotency_key: str | None, instance: str) -> Response[bytes] | None:
    """The 400 for an Idempotency-Key that breaks the draft's rules; None when absent or fine.

    Shared with the submission fast path (fast_submit.py), so both answer alike.
    """
    if idempotency_key is None or _IDEMPOTENCY_KEY.match(idempotency_key):
        return None
    return problem(
        400,
        "Idempotency-Key must be 1-255 printable ASCII characters without spaces.",
        slug="invalid-idempotency-key",
        instance=instance,
    )


class ReferenceController(Controller):
    """The lists every client needs: districts and the issue taxonomy."""

    path = "/api/v1"
    tags: ClassVar[list[str]] = ["reference"]

    @get("/districts", summary="The 14 areas of the Lancashire Strategic Assessment")
    async def list_districts(self) -> list[District]:
        """Districts with their ONS codes and Census 2021 figures."""
        return list(districts())

    @get("/issues", summary="The issue taxonomy, with codes that never change")
    async def list_issues(self) -> list[Issue]:
        """Every issue a survey may offer."""
        return list(issues())


class ResponseController(Controller):
    """Open surveys and the responses residents send to them."""

    path = "/api/v1/surveys"
    tags: ClassVar[list[str]] = ["responses"]

    @get("/{survey_id:int}", summary="The definition of an open survey", responses=problems(*BY_ID, 409))
    async def get_survey(self, request: Request[Any, Any, Any], survey_id: RowId) -> Survey:
        """An open survey's title, introduction, issues and number of picks (404 unknown, 409 not open)."""
        catalogue: SurveyCatalogue = request.app.state.catalogue
        return await catalogue.get_open(survey_id)

    @post(
        "/{survey_id:int}/responses",
        summary="Send one resident's answers",
        status_code=HTTP_201_CREATED,
        request_max_body_size=MAX_RESPONSE_BODY_BYTES,
        responses=problems(*BY_ID, *BY_BODY, 403, 409, 429),
    )
    async def create_response(
        self,
        request: Request[Any, Any, Any],
        survey_id: RowId,
        data: JSONBody[ResponseCreate],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key", description="Retry with the same key to get the first result back."
            ),
        ] = None,
    ) -> Receipt | Response[bytes]:
        """Store a response; the 201 comes only after it is committed to the database.

        A members survey takes answers only with ``"invitation"`` (403 without a valid one for it;
        409 once it has been answered); the district then comes from the membership.
        """
        # Under `talking serve`, surveys/fast_submit.py answers most of these requests without this
        # handler, calling the same functions as below: keep the two in step.
        await request.app.state.rate_limiter.hit(SUBMIT, request.scope)
        if (refused := idempotency_key_problem(idempotency_key, request.url.path)) is not None:
            return refused
        # Refusals (403, 404, 409, 422) are raised by the services and become problem details in talking.problems.
        catalogue: SurveyCatalogue = request.app.state.catalogue
        writer: ResponseWriter = request.app.state.writer
        return await submit_api_response(catalogue, writer, survey_id, data, idempotency_key=idempotency_key)


def document_answer_rules(document: dict[str, Any]) -> None:
    """The rules of validation.py that a schema can say, on the response a resident sends (OpenAPI)."""
    answer = document.get("components", {}).get("schemas", {}).get("ResponseCreate")
    if not answer:
        return
    properties = answer["properties"]
    _constrain_optional(properties["district"], {"enum": [district.code for district in districts()]})
    properties["district"]["description"] = (
        "The ONS code of the resident's district: required for an open survey; with an invitation it comes "
        "from the membership (leave it out, or send the same code)."
    )
    properties["invitation"]["description"] = (
        "A members survey's invitation: the token from the member's link (/i/TOKEN). Required for a members "
        "survey (403 without a valid one, 409 once answered); refused (422) for an open survey."
    )
    properties["picks"].update(
        minItems=1,
        maxItems=MAX_PICKS_LIMIT,
        uniqueItems=True,
        description="Issue codes in rank order (first = most important); at most the survey's max_picks, "
        "each offered by the survey.",
    )
    for name, choices in (("age_band", AGE_BANDS), ("sex", SEXES)):
        _constrain_optional(properties[name], {"enum": [choice.code for choice in choices]})
    _constrain_optional(properties["comment"], {"maxLength": MAX_COMMENT_CHARS})


def _constrain_optional(schema: dict[str, Any], rule: dict[str, Any]) -> None:
    """Apply ``rule`` to the string branch of an optional (``oneOf`` string or null) property."""
    for branch in schema.get("oneOf", [schema]):
        if branch.get("type") == "string":
            branch.update(rule)
