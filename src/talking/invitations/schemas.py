"""msgspec Structs for sending invitations and reminders through the API."""

from __future__ import annotations

from typing import Annotated

import msgspec

DistrictCode = Annotated[str, msgspec.Meta(max_length=9, description="an ONS district code, such as E07000123")]


class InvitationRound(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which districts to invite: leave ``districts`` out for every district the survey covers."""

    districts: Annotated[tuple[DistrictCode, ...], msgspec.Meta(max_length=14)] | None = None


class Invited(msgspec.Struct, frozen=True):
    """How many members were invited by this round (0 when everyone already has an invitation)."""

    invited: int


class Reminded(msgspec.Struct, frozen=True):
    """How many invitees were reminded by this round."""

    reminded: int
