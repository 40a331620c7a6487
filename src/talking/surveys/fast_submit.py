"""The fast path for ``POST /api/v1/surveys/{id}/responses``: Litestar's answers without its request machinery.

Why: submissions are the one route under real load, and server CPU per request is what limits
them. Routing, middleware, the signature model, kwargs and response objects cost about 80-100
microseconds of the roughly 350 a response took through Litestar (see docs/architecture.md).
This ASGI wrapper answers the ordinary case itself and hands everything else to Litestar.

It must not become a second definition of the route. The Litestar handler in api.py stays
registered (OpenAPI documents it, and it serves whatever falls through); this module calls what
that handler calls: ``idempotency_key_problem``, ``submit_api_response`` (the survey, its
invitation, validation.py's rules) and the app's one ``ResponseWriter``. Refusals are mapped by
``talking.problems.handle_exception`` and sent through the app's ``before_send`` hooks, as Litestar
sends them (its debug-mode traceback logging of refusals is not repeated here).
tests/integration/test_fast_submit.py holds the two paths to the same bytes.

Anything unusual falls through to Litestar untouched: another method or path, a ``root_path``, no
Content-Length (chunked), a body over the limit, a repeated header, a Content-Type that is not JSON,
and any body that does not decode strictly as a ``ResponseCreate`` (malformed JSON, the wrong shape)
or repeats a key (web/request_bodies.py: the app's StrictRequest refuses those, with the same checks). Those answers are
Litestar's own, so their problem details carry its messages exactly; a body already read is replayed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import msgspec

from talking.asgi import send_response, send_with_hooks
from talking.params import MAX_ROW_ID
from talking.problems import handle_exception
from talking.rate_limits import SUBMIT
from talking.surveys.api import MAX_RESPONSE_BODY_BYTES, idempotency_key_problem
from talking.surveys.schemas import ResponseCreate
from talking.surveys.services import submit_api_response
from talking.web.request_bodies import duplicate_key, json_media_type_problem

if TYPE_CHECKING:
    from litestar import Litestar, Response
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

# Plain digits only: anything Litestar's int converter might read differently ("+1", "1_0") falls through.
_PATH = re.compile(r"/api/v1/surveys/([0-9]{1,18})/responses")

# Strict: a body this decoder takes is one Litestar's lax conversion would take, giving the same Struct.
_decode = msgspec.json.Decoder(ResponseCreate).decode
_encode = msgspec.json.Encoder().encode
_JSON = (b"content-type", b"application/json")


class FastSubmit:
    """ASGI app: answer resident submissions directly, pass everything else to the Litestar app."""

    def __init__(self, app: Litestar, then: ASGIApp | None = None) -> None:
        self.app = app
        # What serves everything else: the app itself, or another fast path in front of it.
        self.then = then or app
        self.catalogue = app.state.catalogue
        self.writer = app.state.writer
        self.limiter = app.state.rate_limiter
        # The route's name as Litestar's router gives it (its path_template), for talking.metrics to count under.
        self._route = app.asgi_router.handle_routing(path="/api/v1/surveys/1/responses", method="POST")[4]
        # What the app's before_send hooks add to an API response (the security headers). They are
        # the same for every response here, so they are worked out once, on the first 201.
        self._hook_headers: list[tuple[bytes, bytes]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a submission, or hand the request to Litestar."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            return await self.then(scope, receive, send)
        matched = _PATH.fullmatch(scope["path"])
        if matched is None or not 1 <= int(matched.group(1)) <= MAX_ROW_ID:  # Litestar explains the id
            return await self.then(scope, receive, send)
        length = key = content_type = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                if length is not None:
                    return await self.then(scope, receive, send)
                length = value
            elif name == b"content-type":
                if content_type is not None:
                    return await self.then(scope, receive, send)
                content_type = value.decode("latin-1")
            elif name == b"idempotency-key":
                if key is not None:
                    return await self.then(scope, receive, send)
                key = value.decode("latin-1")  # as Litestar decodes header values
            elif name == b"authorization":  # a staff token is limited per token: Litestar finds whose
                return await self.then(scope, receive, send)
        if length is None or not length.isdigit() or int(length) > MAX_RESPONSE_BODY_BYTES:
            return await self.then(scope, receive, send)  # chunked, or Litestar's 413
        if json_media_type_problem(content_type) is not None:
            return await self.then(scope, receive, send)  # Litestar's 415

        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its answers: nothing to store or say
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        try:
            response = _decode(body) if len(body) <= MAX_RESPONSE_BODY_BYTES else None
        except (msgspec.DecodeError, RecursionError):
            response = None
        if response is None or duplicate_key(body) is not None:  # Litestar's own 400, 413 or 422
            return await self.then(scope, _replay(body, receive), send)

        # Litestar's handler from here, in its order: the limit, the key, then the survey, then the answers.
        scope["path_template"] = self._route  # type: ignore[typeddict-unknown-key]  # as Litestar's routing sets it
        refused: Response[Any] | Exception | None
        try:
            await self.limiter.hit(SUBMIT, scope)
            refused = idempotency_key_problem(key, scope["path"])
            if refused is None:
                receipt = await submit_api_response(
                    self.catalogue, self.writer, int(matched.group(1)), response, idempotency_key=key
                )
        except Exception as exc:  # refusals (403, 404, 409, 422) and failures (500), mapped in one place
            refused = exc
        if refused is not None:
            request = self.app.request_class(scope, receive, send)
            if isinstance(refused, Exception):
                refused = handle_exception(request, refused)
            return await send_response(self.app, request, refused, send)

        if self._hook_headers is None:
            self._hook_headers = await self._headers_from_hooks(scope)
        content = _encode(receipt)
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [_JSON, (b"content-length", b"%d" % len(content)), *self._hook_headers],
            }
        )
        await send({"type": "http.response.body", "body": content, "more_body": False})

    async def _headers_from_hooks(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        """The headers the before_send hooks add to a response start in this (API) scope."""
        message: Message = {"type": "http.response.start", "status": 201, "headers": []}

        async def keep(_message: Message) -> None:
            pass

        await send_with_hooks(self.app, scope, keep)(message)
        return list(message["headers"])


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands Litestar the body already read, then carries on with the real one."""
    replayed = False

    async def replay() -> Any:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
