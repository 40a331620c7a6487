"""The OpenAPI description, told truthfully: every refusal a route can answer, the real media types,
the bearer scheme, and the answer rules the validators enforce where OpenAPI can say them.

Litestar infers the success answers from the handlers' types. What it cannot see is declared
here once: handlers name their refusals with ``problems(...)`` (next to the route, so a new
refusal is documented where it is written), and ``finish`` (run by the JSON render plugin the
first time the document is served) completes the generated document with
what is true of every route (503 while the database is away, Retry-After on 429 and 503) and what
a type cannot carry (the report's three formats, the rules in surveys/validation.py).
``tests/integration/test_openapi.py`` runs schemathesis against a real server to hold it to this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from litestar import Request
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from talking.problems import PROBLEM_JSON, Problem

# Adds what one feature knows to the document (e.g. the answer rules the residents' API enforces).
Finisher = Callable[[dict[str, Any]], None]

BEARER = "bearer"
# Every staff and analyst route: `Authorization: Bearer TOKEN` (tokens from `talking tokens create`).
STAFF_SECURITY: list[dict[str, list[str]]] = [{BEARER: []}]
COMPONENTS = Components(
    security_schemes={
        BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            description="A staff API token (`talking tokens create EMAIL`, or the account page);"
            " it acts with its user's role.",
        )
    }
)

# What each refusal means on this API, said once.
WHY = {
    400: "Malformed: the body is not JSON, or a header breaks its rules; nothing was stored.",
    401: "No credentials, or a token that is unknown, revoked or expired.",
    403: "The token's user has too junior a role for this route.",
    404: "No such survey.",
    409: "The survey's state does not allow this (not open, already published, closed...).",
    413: "The body is larger than this route takes.",
    415: "The body is not sent as application/json.",
    422: "The request is well formed but breaks the rules: `errors` names each field at fault.",
    429: "Too many requests from this address or token: wait for Retry-After seconds.",
    503: "The database (or the session store) is not answering: try again after Retry-After seconds.",
}
_RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 0},
}

# A route's refusals by what it takes: a path id, a JSON body, a staff token.
BY_ID = (404, 422)
BY_BODY = (400, 413, 415, 422)
BY_TOKEN = (401, 403, 429)


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem+json answers a route can give, for its decorator's ``responses=``."""
    return {
        status: ResponseSpec(data_container=Problem, media_type=PROBLEM_JSON, description=WHY[status])
        for status in sorted(set(statuses))
    }


class TruthfulJsonRenderPlugin(JsonRenderPlugin):
    """Serves /schema/openapi.json finished by ``finish`` and the features' finishers, once.

    Litestar offers no hook between generating the document and serving it; its render plugins
    receive the generated dict (kept for the app's life), so it is completed here, in place.
    """

    def __init__(self, finishers: Sequence[Finisher] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.finishers = tuple(finishers)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The document as JSON, finished the first time it is served."""
        if not openapi_schema.get("x-talking-finished"):
            finish(openapi_schema)
            for finisher in self.finishers:
                finisher(openapi_schema)
            openapi_schema["x-talking-finished"] = True
        return super().render(request, openapi_schema)


def finish(document: dict[str, Any]) -> None:
    """What is true of every route, and what a type cannot carry, added to a generated document."""
    problem_schema = {"$ref": "#/components/schemas/Problem"}
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("503", {"description": WHY[503]})
            for status, response in responses.items():
                # Every refusal is a problem: Litestar's own 400 schema (its exception's shape) is not ours.
                if int(status) >= 400:
                    response["content"] = {PROBLEM_JSON: {"schema": problem_schema}}
                else:
                    _drop_any_branch(response)
            for status in ("429", "503"):
                if status in responses:
                    responses[status].setdefault("headers", {})["Retry-After"] = _RETRY_AFTER


def _drop_any_branch(response: dict[str, Any]) -> None:
    """A handler typed ``X | Response[bytes]`` returns its Response only for refusals, which are
    documented as problems; Litestar still adds an empty (match-anything) branch to X's schema."""
    for media in response.get("content", {}).values():
        schema = media.get("schema", {})
        branches = schema.get("oneOf")
        if branches and {} in branches:
            kept = [branch for branch in branches if branch != {}]
            media["schema"] = kept[0] if len(kept) == 1 else {"oneOf": kept}
