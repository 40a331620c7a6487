"""The fast path for the resident pages: ResidentPages' own handlers (and InvitedPages', the invitation's
link), without Litestar's request machinery.

Why: a resident's journey is fourteen requests (a GET and a POST per question, PRG), and server
CPU per request is what limits how many residents can answer at once (benchmarks/flow.py). About
a third of a page's CPU went to the layers around the handler: the exception middleware, routing,
four middlewares (nonce, session, signed-in user, CSRF), the signature model and kwargs, and
their send wrappers. This ASGI wrapper does the same work once, in one place, for these routes.

It must not become a second definition of the pages, so it reuses, rather than repeats:

- the handlers registered in the app for ``ResidentPages`` (found through the app's own router,
  with their path parameters parsed by it) and the exception handlers that apply to them;
- Litestar's ``Request`` (cookies, query string, form parsing, body limits) and its
  ``Template``/``Redirect`` responses, so a page is rendered and framed by Litestar's own code;
- the session backend of the app's ``SessionConfig`` to load and store the session and set its
  cookie (talking.auth.middleware), and Litestar's CSRF middleware's token checks and cookie;
- the app's ``before_send`` hooks (security headers, with the CSP nonce made as
  ``CspNonceMiddleware`` makes it).

Anything unusual falls through to Litestar untouched: another method (HEAD, OPTIONS...), a
``root_path``, a path the router does not give to ``ResidentPages``, an id out of range, a host
header Litestar would refuse, and a signed-in member of staff (their pages carry the staff menu,
which needs the signed-in user). A POST whose CSRF token does not match gets the 403 Litestar
gives, and a failure around the handler (the session store out of reach) the error page
Litestar's outermost exception middleware would send. Litestar's debug-mode logging of handled
exceptions is not repeated here (the app's exception handler logs every 500 itself).

Reusing Litestar's own pieces means reaching a few of its private names (the router's lookup,
``get_exception_handler``, the CSRF middleware's token check, the session config's backend class).
A Litestar upgrade that moves them fails tests/integration/test_fast_pages.py, which holds the two
paths to the same bytes; every test of the resident pages also runs through both. Measured in
docs/architecture.md ("The resident pages").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar._asgi.utils import is_valid_host
from litestar.enums import RequestEncodingType
from litestar.exceptions import MethodNotAllowedException, NotFoundException, PermissionDeniedException
from litestar.middleware._internal.exceptions.middleware import get_exception_handler
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.utils.path import normalize_path
from litestar.utils.scope.state import ScopeState

from talking.asgi import send_response, send_with_hooks
from talking.params import MAX_ROW_ID
from talking.problems import handle_exception
from talking.security import new_csp_nonce
from talking.surveys.invited_pages import InvitedPages
from talking.surveys.pages import ResidentPages
from talking.web.people import staff_sign_in_of

if TYPE_CHECKING:
    from litestar import Litestar, Request, Response
    from litestar.handlers import HTTPRouteHandler
    from litestar.types import Message, Receive, Scope, Send

# Marks a scope this path answered (Litestar marks its own with "litestar_app"); for tests.
ANSWERED_HERE = "talking.fast_page"


class FastPages:
    """ASGI app: serve the resident pages directly, pass everything else to the Litestar app."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        session_config = app.state.session_config
        self.sessions = session_config._backend_class(config=session_config)  # Litestar's own class for this config
        # For its token comparison and cookie, exactly as the middleware does them.
        self.csrf = CSRFMiddleware(app=app, config=app.csrf_config) if app.csrf_config else None
        handlers = _resident_handlers(app)
        self._pages = {id(handler) for handler in handlers}
        # Which paths can be ours at all, so that others (assets, staff pages, the API) are not routed twice.
        paths = [path for handler in handlers for path in handler.paths]
        self._exact = frozenset(path for path in paths if "{" not in path)
        self._prefixes = tuple({path.split("{", 1)[0] for path in paths if "{" in path})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a resident page, or hand the request to Litestar."""
        found = self._handler_for(scope) if scope["type"] == "http" else None
        if found is None:
            return await self.app(scope, receive, send)
        handler, path_params = found

        # Our own copy of the scope, set up as Litestar's layers would: the original stays as it
        # came, for Litestar, if the session says this is a member of staff.
        ours: dict[str, Any] = {**scope, "state": dict(scope.get("state") or {})}
        ours.update(app=self.app, litestar_app=self.app, path_params=path_params, route_handler=handler)
        ours["state"]["csp_nonce"] = new_csp_nonce()
        request: Request[Any, Any, Any] = self.app.request_class(ours, receive, send)
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._serve(scope, request, handler, path_params, receive, send_tracked)
        except Exception as exc:
            # What Litestar's outermost exception middleware does when a layer around the handler
            # fails (the session store out of reach, say): the error page, if nothing was sent yet.
            if started:
                raise
            await self._send_exception(handler, request, exc, send)

    async def _serve(
        self,
        scope: Scope,
        request: Request[Any, Any, Any],
        handler: HTTPRouteHandler,
        path_params: dict[str, Any],
        receive: Receive,
        send: Send,
    ) -> None:
        """Load the session, check CSRF, call the handler and send its page (or Litestar's, for staff)."""
        ours = request.scope
        session = await self.sessions.load_from_connection(request)
        if staff_sign_in_of(session) is not None:
            return await self.app(scope, receive, send)
        ours.update(session=session, user=None, auth=None)
        scope[ANSWERED_HERE] = True  # type: ignore[literal-required]
        request._connection_state.session_id = self.sessions.get_session_id(request)  # as SessionMiddleware does

        try:
            csrf_cookie = await self._check_csrf(request)
        except PermissionDeniedException as exc:
            # Litestar refuses in its CSRF middleware, outside the session's: the session is not stored.
            return await self._send_exception(handler, request, exc, send)
        try:
            answer = await handler.fn(request=request, **path_params)
            page = await handler.to_response(app=self.app, data=answer, request=request)
        except Exception as exc:  # the controller's handlers first, then the app's, as Litestar looks them up
            refusal = self._refusal(handler, request, exc)
            page = refusal.to_asgi_response(app=None, request=request, type_encoders=handler.resolve_type_encoders())
        await page(ours, receive, self._sender(request, send, csrf_cookie))

    def _handler_for(self, scope: Scope) -> tuple[HTTPRouteHandler, dict[str, Any]] | None:
        """The ResidentPages handler for this request and its parsed path parameters, or None to fall through."""
        path = scope["path"]
        if scope["method"] not in ("GET", "POST") or scope.get("root_path"):
            return None
        if path not in self._exact and not path.startswith(self._prefixes):
            return None
        host = next((value for name, value in scope["headers"] if name == b"host"), None)
        if host is not None and not is_valid_host(host):
            return None
        try:
            _app, handler, _path, path_params, _template = self.app.asgi_router.handle_routing(
                path=normalize_path(path), method=scope["method"]
            )
        except (NotFoundException, MethodNotAllowedException):
            return None
        if id(handler) not in self._pages:
            return None
        # An id out of a RowId's range: Litestar explains which (talking.params).
        if any(type(value) is int and not 1 <= value <= MAX_ROW_ID for value in path_params.values()):
            return None
        return handler, path_params  # type: ignore[return-value]

    async def _check_csrf(self, request: Request[Any, Any, Any]) -> str | None:
        """Litestar's CSRF check; returns the CSRF cookie sent (None: a GET sets a new one)."""
        if self.csrf is None:
            return ""
        config = self.csrf.config
        csrf_cookie = request.cookies.get(config.cookie_name)
        state = ScopeState.from_scope(request.scope)
        if request.method in config.safe_methods:
            state.csrf_token = csrf_cookie or generate_csrf_token(secret=config.secret)
            return csrf_cookie
        sent = request.headers.get(config.header_name)
        if not sent and request.content_type[0] in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
            sent = (await request.form()).get("_csrf_token")
        if sent is None or csrf_cookie is None or not self.csrf._csrf_tokens_match(sent, csrf_cookie):
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = sent
        return csrf_cookie

    def _refusal(self, handler: HTTPRouteHandler, request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        """What Litestar's exception middleware answers for ``exc`` raised on this route."""
        exception_handler = get_exception_handler(handler.resolve_exception_handlers(), exc) or handle_exception
        return exception_handler(request, exc)

    async def _send_exception(
        self, handler: HTTPRouteHandler, request: Request[Any, Any, Any], exc: Exception, send: Send
    ) -> None:
        """Send what Litestar's exception middleware would, through the app's before_send hooks."""
        await send_response(
            self.app, request, self._refusal(handler, request, exc), send, handler.resolve_type_encoders()
        )

    def _sender(self, request: Request[Any, Any, Any], send: Send, csrf_cookie: str | None) -> Send:
        """Send, adding to the response start what Litestar's layers add, in their order: CSRF cookie, session."""
        scope = request.scope
        token = ScopeState.from_scope(scope).csrf_token
        hooked = send_with_hooks(self.app, scope, send)

        async def send_page(message: Message) -> None:
            if message["type"] == "http.response.start":
                if csrf_cookie is None and self.csrf is not None and isinstance(token, str):
                    self.csrf._set_cookie_if_needed(message=message, token=token)  # type: ignore[arg-type]
                await self.sessions.store_in_message(scope.get("session"), message, request)
            await hooked(message)

        return send_page


def _resident_handlers(app: Litestar) -> list[HTTPRouteHandler]:
    """The route handlers the app registered for ResidentPages and InvitedPages (methods bound to their
    controllers' instances): the journey, and the invitation's link that starts it."""
    return [
        handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if isinstance(getattr(handler.fn, "__self__", None), ResidentPages | InvitedPages)
    ]
