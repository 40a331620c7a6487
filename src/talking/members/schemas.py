"""msgspec Structs for the panel's members and for what an import did."""

from __future__ import annotations

from typing import Literal

import msgspec

MemberStatus = Literal["pending", "active", "unsubscribed", "erased"]
# Consent recorded for members brought over from the community messaging service's export.
IMPORTED_CONSENT = "imported"


class MemberRow(msgspec.Struct, frozen=True):
    """One member as a file row gives them, checked: ready to add or to update."""

    line: int
    email: str
    email_key: str
    district_code: str
    age_band: str | None = None
    sex: str | None = None


class RefusedRow(msgspec.Struct, frozen=True):
    """A row left out of an import, and why, in words staff can act on."""

    line: int
    reason: str


class ImportReport(msgspec.Struct, frozen=True):
    """What an import did (or, in a dry run, would do)."""

    imported: int
    updated: int
    refused: list[RefusedRow]
    dry_run: bool = False
    # Members already on the panel who had unsubscribed: their details are updated, never their choice.
    kept_unsubscribed: int = 0

    def summary(self) -> str:
        """The one line the command prints last: "imported N, updated N, refused N"."""
        prefix = "dry run, nothing stored: would have " if self.dry_run else ""
        return f"{prefix}imported {self.imported:,}, updated {self.updated:,}, refused {len(self.refused):,}"
