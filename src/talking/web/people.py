"""Who a request comes from: the signed-in member of staff, and the address it was sent from."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from talking.principal import Principal

# Where a staff sign-in is kept in the web session; the auth feature writes it, any page may ask.
STAFF_SESSION_KEY = "staff"


def client_ip(request: Request[Any, Any, Any]) -> str | None:
    """The address the request came from, for the audit log."""
    return request.client.host if request.client else None


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    """The signed-in user (guards have made sure there is one)."""
    principal = request.scope.get("user")
    if not isinstance(principal, Principal):
        raise NotAuthorizedException()
    return principal


def staff_sign_in_of(session: Any) -> dict[str, Any] | None:
    """The signed-in member of staff a session records (user id and times), or None for a resident."""
    staff = session.get(STAFF_SESSION_KEY) if isinstance(session, dict) else None
    return staff if isinstance(staff, dict) else None
