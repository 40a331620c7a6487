"""Who is asking: a bearer token, or a staff session with idle and absolute time limits.

Sets ``scope["user"]`` to a Principal or None on every HTTP request; guards decide what that allows.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.auth.principal import Principal
from talking.auth.services import active_principal, principal_for_token

STAFF_SESSION_KEY = "staff"
IDLE_TIMEOUT_SECONDS = 30 * 60
ABSOLUTE_LIFETIME_SECONDS = 12 * 60 * 60
# Refresh "last seen" at most this often, so reading pages does not rewrite the session each time.
_SEEN_GRANULARITY_SECONDS = 60
_NEW_SESSION_ID = "talking.new_session_id"


class RotatingSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions, plus a new session id on demand (on sign-in)."""

    def get_session_id(self, connection: Any) -> str:
        """The id to store the session under: a freshly issued one if the request asked for it."""
        return connection.scope.get(_NEW_SESSION_ID) or super().get_session_id(connection)


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
    staff = session.get(STAFF_SESSION_KEY) if isinstance(session, dict) else None
    if not isinstance(staff, dict):
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
            async with engine.begin() as conn:
                scope["user"] = await principal_for_token(conn, token)
            scope["auth"] = "token"
        else:
            scope["user"] = await _session_principal(engine, scope.get("session"))
            scope["auth"] = "session" if scope["user"] else None
        await next_app(scope, receive, send)
