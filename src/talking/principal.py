"""Who is making a request: a signed-in member of staff, or a script with their token."""

from __future__ import annotations

from typing import Literal

import msgspec

Role = Literal["admin", "staff", "analyst"]
ROLES: tuple[Role, ...] = ("admin", "staff", "analyst")

# Each role can do what the roles below it can: admin > staff > analyst.
_RANK = {"analyst": 1, "staff": 2, "admin": 3}


class Principal(msgspec.Struct, frozen=True):
    """The authenticated user behind a request, and how they authenticated."""

    user_id: int
    email: str
    role: Role
    via: Literal["session", "token"]
    token_id: int | None = None

    def can(self, minimum_role: Role) -> bool:
        """Whether this user's role is at least ``minimum_role``."""
        return _RANK[self.role] >= _RANK[minimum_role]
