"""The packs API's answers."""

from __future__ import annotations

import msgspec


class PackMade(msgspec.Struct, frozen=True):
    """A pack just made: its id and the fingerprint (SHA-256, hex) of the answers it used."""

    id: int
    fingerprint: str
