"""Who is asking: a bearer token, or a staff session with idle and absolute time limits.

Sets ``scope["user"]`` to a Principal or None on every HTTP request; guards decide what that allows.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.middleware.csrf import generate_csrf_token
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.dataclass import extract_dataclass_items
from sqlalchemy.ext.asyncio import AsyncEngine

from talking import metrics
from talking.auth.services import active_principal, principal_for_token, touch_token
from talking.db.engine import immediate
from talking.principal import Principal
from talking.rate_limits import STAFF_API
from talking.web.people import STAFF_SESSION_KEY, staff_sign_in_of

IDLE_TIMEOUT_SECONDS = 30 * 60
ABSOLUTE_LIFETIME_SECONDS = 12 * 60 * 60
# Refresh "last seen" at most this often, so reading pages does not rewrite the session each time.
_SEEN_GRANULARITY_SECONDS = 60
_NEW_SESSION_ID = "talking.new_session_id"
# Session ids we issue (secrets.token_hex); a cookie value needing no quoting in Set-Cookie.
_SESSION_ID = re.compile(r"[0-9a-f]{16,128}")
# Stands in for the session id in the cached Set-Cookie header.
_COOKIE_VALUE = "0" * 64


class RotatingSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions, plus a new session id on demand (on sign-in)."""

    def __init__(self, config: ServerSideSessionConfig) -> None:
        super().__init__(config)
        self._cookie_template: str | None = None

    def get_session_id(self, connection: Any) -> str:
        """The id to store the session under: a freshly issued one if the request asked for it."""
        return connection.scope.get(_NEW_SESSION_ID) or super().get_session_id(connection)

    async def load_from_connection(self, connection: Any) -> dict[str, Any]:
        """The session the cookie names; if we hold none under that id, an empty one under a new id.

        Litestar would store a new session under whatever id the cookie carried, so someone who
        planted a made-up id in a victim's browser would know the victim's session id (fixation).
        Ids come only from us: an id we do not hold (made up, expired, signed out) is never reused.
        """
        session_id = connection.cookies.get(self.config.key)
        if not session_id:
            return {}
        if _SESSION_ID.fullmatch(session_id):
            data = await self.get(session_id, store=self.config.get_store_from_app(connection.scope["app"]))
            if data is not None:
                return self.deserialize_data(data)
        connection.scope[_NEW_SESSION_ID] = self.generate_session_id()
        return {}

    async def store_in_message(self, scope_session: Any, message: Any, connection: Any) -> None:
        """Keep the session and set its cookie, as Litestar does, with two savings.

        A visitor with no session yet and nothing to keep gets neither a row nor a cookie; and the
        cookie header is built once and reused with each session id (Litestar builds it anew, from
        dataclasses, on every response).
        """
        if not isinstance(scope_session, dict):  # Empty: cleared, so Litestar deletes it and expires the cookie
            await super().store_in_message(scope_session, message, connection)
            return
        if not scope_session and (not connection.cookies.get(self.config.key) or _NEW_SESSION_ID in connection.scope):
            return  # nothing to keep, and no session of ours to keep it in
        session_id = self.get_session_id(connection)
        if not _SESSION_ID.fullmatch(session_id):  # not one of ours: let Litestar quote it as it must
            await super().store_in_message(scope_session, message, connection)
            return
        store = self.config.get_store_from_app(connection.scope["app"])
        await self.set(session_id=session_id, data=self.serialize_data(scope_session, connection.scope), store=store)
        metrics.session_writes.labels("existing" if connection.cookies.get(self.config.key) else "new").inc()
        MutableScopeHeaders.from_message(message).add("Set-Cookie", self._cookie_header(session_id))

    def _cookie_header(self, session_id: str) -> str:
        """The Set-Cookie value Litestar would build for this session id (ids we issue need no quoting)."""
        if self._cookie_template is None:
            params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
            self._cookie_template = Cookie(value=_COOKIE_VALUE, key=self.config.key, **params).to_header(header="")
        return self._cookie_template.replace(_COOKIE_VALUE, session_id, 1)


class SessionConfig(ServerSideSessionConfig):
    """Server-side sessions that can be given a new id."""

    _backend_class = RotatingSessionBackend


async def start_staff_session(request: Any, principal: Principal) -> None:
    """Sign a user in: drop the old session id (fixation defence) and record when it started."""
    config: ServerSideSessionConfig = request.app.state.session_config
    old_id = request.cookies.get(config.key)
    if old_id:
        await config.get_store_from_app(request.app).delete(old_id)
    request.scope[_NEW_SESSION_ID] = secrets.token_hex(config.session_id_bytes)
    now = int(time.time())
    request.session[STAFF_SESSION_KEY] = {"user_id": principal.user_id, "started": now, "seen": now}


def new_csrf_cookie(request: Any) -> list[Cookie]:
    """A new CSRF cookie, set as Litestar's CSRF middleware sets it, for the answer to a sign-in.

    A token planted or seen before sign-in must not go on working for the signed-in session.
    """
    config = request.app.csrf_config
    if config is None:
        return []
    return [
        Cookie(
            key=config.cookie_name,
            value=generate_csrf_token(secret=config.secret),
            path=config.cookie_path,
            secure=config.cookie_secure,
            httponly=config.cookie_httponly,
            samesite=config.cookie_samesite,
            domain=config.cookie_domain,
        )
    ]


def end_staff_session(request: Any) -> None:
    """Sign out: forget the whole session (resident progress included)."""
    request.clear_session()


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


async def _session_principal(engine: AsyncEngine, session: Any) -> Principal | None:
    staff = staff_sign_in_of(session)
    if staff is None:
        return None
    now = int(time.time())
    if now - staff.get("started", 0) > ABSOLUTE_LIFETIME_SECONDS or now - staff.get("seen", 0) > IDLE_TIMEOUT_SECONDS:
        session.pop(STAFF_SESSION_KEY, None)
        return None
    async with engine.connect() as conn:
        principal = await active_principal(conn, staff["user_id"])
    if principal is None:  # deactivated since signing in
        session.pop(STAFF_SESSION_KEY, None)
        return None
    if now - staff["seen"] >= _SEEN_GRANULARITY_SECONDS:
        staff["seen"] = now
    return principal


class PrincipalMiddleware(ASGIMiddleware):
    """Resolve the request's Principal (or None) before any handler or guard runs."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Set scope["user"] and carry on."""
        engine: AsyncEngine = scope["app"].state.engine
        token = _bearer_token(scope)
        if token is not None:
            async with engine.connect() as conn:
                use = await principal_for_token(conn, token)
            if use is not None and use.touch_due:
                # A write transaction of its own, taken only when due: most token requests only read.
                async with immediate(engine).begin() as conn:
                    await touch_token(conn, use.principal.token_id)  # type: ignore[arg-type]
            scope["user"] = use.principal if use else None
            scope["auth"] = "token"
            if scope["user"] is not None:  # a valid token is limited per token, wherever it comes from
                await scope["app"].state.rate_limiter.hit(STAFF_API, scope)
        else:
            scope["user"] = await _session_principal(engine, scope.get("session"))
            scope["auth"] = "session" if scope["user"] else None
        await next_app(scope, receive, send)
