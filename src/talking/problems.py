"""RFC 9457 problem details for the API, and friendly error pages for people.

One exception handler serves both audiences: requests under /api/ (and /healthz) get
``application/problem+json``; everything else gets a GOV.UK-style error page.
"""

from __future__ import annotations

import logging
import math
import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from talking import metrics
from talking.db.engine import DatabaseBusy
from talking.errors import (
    FieldError,
    IdempotencyConflict,
    InvitationRefused,
    InvitationUsed,
    RulesBroken,
    SurveyNotFound,
    SurveyNotOpen,
    WrongSurveyState,
)
from talking.logs import loggable_path
from talking.outages import RETRY_AFTER_SECONDS, SESSIONS, Outage, note_outage, outage_of
from talking.rate_limits import RateLimited
from talking.security import new_csp_nonce
from talking.web.request_bodies import BodyRefused

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://talking.invalid/problems/"


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem details object, with the field errors our clients act on."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


def problem(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    errors: list[FieldError] | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    """A problem+json response."""
    phrase = HTTPStatus(status).phrase
    body = Problem(
        type=PROBLEM_TYPE_BASE + (slug or phrase.lower().replace(" ", "-")),
        title=phrase,
        status=status,
        detail=detail,
        instance=instance,
        errors=errors or None,
    )
    return Response(msgspec.json.encode(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def wants_problem_json(request: Request) -> bool:
    """Whether this request should get problem+json rather than an HTML page."""
    path = request.url.path
    return path.startswith("/api/") or path == "/healthz"


# msgspec says where a decode error is ("at `$.picks[0]`") or which field is missing.
_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_MISSING = re.compile(r"(?:missing required|unknown) field `([^`]+)`")


def _field_of(message: str, fallback: str) -> tuple[str, str]:
    """The field a msgspec message is about, and the message without its location suffix."""
    if found := _AT_PATH.search(message):
        return found.group(1) or fallback, message[: found.start()]
    if found := _MISSING.search(message):
        return found.group(1), message
    return fallback, message


def _validation_errors(exc: ValidationException) -> tuple[int, str, list[FieldError]]:
    """Turn Litestar's decode errors into field errors; malformed JSON is 400, the wrong shape 422."""
    errors: list[FieldError] = []
    status = 422
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        key, message = _field_of(str(item.get("message", exc.detail)), str(item.get("key") or "body"))
        if key == "data":  # Litestar's name for the whole body
            key = "body"
        if message == "'data'":  # Litestar found no body at all (its KeyError, as text)
            message = "The request has no body: send a JSON object"
        if "malformed" in message.lower() or "json is" in message.lower():
            status = 400
        errors.append(FieldError(field=key, message=message))
    detail = str(exc.detail)
    if "malformed" in detail.lower():
        status = 400
    if not errors:
        errors.append(FieldError(field="body", message=detail))
    return status, detail, errors


def _domain_problem(exc: Exception, instance: str) -> Response[bytes] | None:
    """Our own errors, raised by services, as problem details."""
    if isinstance(exc, SurveyNotFound):
        return problem(404, f"There is no survey {exc.args[0]}.", instance=instance)
    if isinstance(exc, SurveyNotOpen):
        return problem(409, str(exc), slug="survey-not-open", instance=instance)
    if isinstance(exc, WrongSurveyState):
        return problem(409, str(exc), slug="wrong-survey-state", instance=instance)
    if isinstance(exc, RulesBroken):
        return problem(
            422, "Nothing was changed: see errors.", slug="invalid-request", errors=exc.errors, instance=instance
        )
    if isinstance(exc, InvitationRefused):
        return problem(403, str(exc), slug="invitation-required", instance=instance)
    if isinstance(exc, InvitationUsed):
        return problem(409, str(exc), slug="already-answered", instance=instance)
    if isinstance(exc, IdempotencyConflict):
        return problem(
            422,
            "This Idempotency-Key was already used for a different request.",
            slug="idempotency-key-reused",
            instance=instance,
        )
    return None


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Render any error as problem+json (API) or an error page (people)."""
    if isinstance(exc, DBAPIError | DatabaseBusy | PoolTimeout):
        metrics.database_errors.labels("request").inc()
    if isinstance(exc, DatabaseBusy | PoolTimeout):
        return _busy(request)
    if isinstance(exc, RateLimited):
        return _too_many_requests(request, exc)
    if wants_problem_json(request) and (domain := _domain_problem(exc, request.url.path)) is not None:
        return domain
    if isinstance(exc, SurveyNotFound):
        return _error_page(request, 404)
    if isinstance(exc, WrongSurveyState | RulesBroken | InvitationUsed):
        return _error_page(request, 422 if isinstance(exc, RulesBroken) else 409)
    if isinstance(exc, InvitationRefused):
        return _error_page(request, 403)
    if isinstance(exc, ValidationException):
        status, detail, errors = _validation_errors(exc)
        # Litestar also raises ValidationException for bad path/query parameters.
        if wants_problem_json(request):
            return problem(
                status,
                detail,
                slug="invalid-request" if status == 422 else "malformed-request",
                errors=errors,
                instance=request.url.path,
            )
        return _error_page(request, 400)
    if isinstance(exc, NotAuthorizedException):
        if wants_problem_json(request):
            return problem(
                401,
                exc.detail,
                slug="unauthorized",
                instance=request.url.path,
                headers={"WWW-Authenticate": 'Bearer realm="talking"'},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(path="/sign-in", query_params={"next": target}, status_code=303)
    if isinstance(exc, BodyRefused) and wants_problem_json(request):
        errors = [FieldError(field="body", message=exc.detail)]
        return problem(exc.status_code, exc.detail, slug=exc.slug, errors=errors, instance=request.url.path)
    if isinstance(exc, HTTPException):
        status = exc.status_code
        detail = exc.detail if exc.detail != HTTPStatus(status).phrase else None
        if wants_problem_json(request):
            if detail and "malformed" in detail.lower():
                return problem(
                    status,
                    detail,
                    slug="malformed-json",
                    instance=request.url.path,
                    errors=[FieldError(field="body", message=detail)],
                )
            return problem(status, detail, instance=request.url.path, headers=exc.headers)
        return _error_page(request, status)
    if (outage := outage_of(exc)) is not None:
        return outage_response(request, outage)
    log.exception("unhandled error on %s %s", request.method, loggable_path(request.url.path), exc_info=exc)
    if wants_problem_json(request):
        return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Something went wrong on our side; nothing was stored.")
    return _error_page(request, HTTP_500_INTERNAL_SERVER_ERROR)


def outage_response(request: Request[Any, Any, Any], outage: Outage) -> Response[Any]:
    """503 with Retry-After: the database or the session store is out of reach; logged, throttled."""
    note_outage(outage, f"{request.method} {request.url.path}", log)
    retry_after = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if wants_problem_json(request):
        what = "The session store is" if outage.service == SESSIONS else "The database is"
        return problem(
            503,
            f"{what} not answering for a moment; nothing was stored. Try again in {RETRY_AFTER_SECONDS} seconds.",
            slug=f"{outage.service}-unavailable",
            instance=request.url.path,
            headers=retry_after,
        )
    page = _error_page(request, 503)
    page.headers.update(retry_after)
    return page


def _busy(request: Request[Any, Any, Any]) -> Response[Any]:
    """503 with Retry-After: the database stayed busy (SQLite's write lock, or no free connection) for
    longer than a request may wait. Nothing was written, so trying again is safe."""
    headers = {"Retry-After": str(DatabaseBusy.retry_after)}
    detail = "The service is busy; nothing was stored. Try again in a few seconds."
    if wants_problem_json(request):
        return problem(HTTP_503_SERVICE_UNAVAILABLE, detail, slug="busy", instance=request.url.path, headers=headers)
    page = _error_page(request, HTTP_503_SERVICE_UNAVAILABLE)
    page.headers.update(headers)
    return page


def _too_many_requests(request: Request[Any, Any, Any], exc: RateLimited) -> Response[Any]:
    """429 with Retry-After: problem details on the API, a page saying how long to wait for people."""
    headers = {"Retry-After": str(exc.retry_after)}
    if wants_problem_json(request):
        return problem(
            429,
            f"Too many requests from your address: try again in {exc.retry_after} seconds.",
            slug="rate-limited",
            instance=request.url.path,
            headers=headers,
        )
    minutes = math.ceil(exc.retry_after / 60)
    wait = f"{exc.retry_after} seconds" if exc.retry_after < 60 else f"{minutes} minute{'s' if minutes > 1 else ''}"
    return Template(
        template_name="errors/429.html",
        # The page the form was on (its GET shows it again, with the answers kept in the session).
        context={"wait": wait, "again_url": request.url.path},
        status_code=429,
        media_type=MediaType.HTML,
        headers=headers,
    )


def _error_page(request: Request[Any, Any, Any], status: int) -> Response[Any]:
    template = {404: "errors/404.html", 403: "errors/403.html", 503: "errors/503.html"}.get(status, "errors/500.html")
    # Litestar answers an unknown path before the nonce middleware runs: the page's script needs one.
    request.scope.setdefault("state", {}).setdefault("csp_nonce", new_csp_nonce())  # type: ignore[typeddict-item]
    if status < 500 and template == "errors/500.html":
        template = "errors/4xx.html"
    return Template(
        template_name=template,
        context={"status": status, "phrase": HTTPStatus(status).phrase},
        status_code=status,
        media_type=MediaType.HTML,
    )
