"""Route guards by role: analyst < staff < admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from talking.principal import Principal, Role

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], Any], None]


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The signed-in user or token owner, or None for residents."""
    return connection.scope.get("user")


def requires(role: Role) -> Guard:
    """A guard admitting users whose role is at least ``role``: 401 if anonymous, 403 if too junior."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: Any) -> None:
        principal = current_principal(connection)
        if principal is None:
            raise NotAuthorizedException("Sign in, or send an API token as 'Authorization: Bearer TOKEN'")
        if not principal.can(role):
            raise PermissionDeniedException(f"This needs the {role} role or above; you are {principal.role}")

    guard.__name__ = f"requires_{role}"
    return guard
