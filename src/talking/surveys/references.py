"""Confirmation references: what a resident is shown once their answers are stored, to quote if they ask.

Random, not sequential (a reference says nothing about how many answered), and written in
Crockford's base32 so it is easy to read aloud and to type.
"""

from __future__ import annotations

import base64
import secrets

# Crockford's base32 without I, L, O, U: easy to read aloud and type from a confirmation page.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _REFERENCE_ALPHABET)
# What a reference looks like, for whoever needs to find one in a page or a receipt.
REFERENCE_PATTERN = f"LT-[{_REFERENCE_ALPHABET}]{{4}}-[{_REFERENCE_ALPHABET}]{{4}}"


def new_references(count: int) -> list[str]:
    """``count`` random confirmation references such as ``LT-7K3M-9QX2`` (40 bits each)."""
    # One read of the OS's random source for the whole batch (a read per reference was a sixth of
    # the writer's time), spelled out by base32 (5 bytes: 8 characters) in Crockford's letters.
    spelled = base64.b32encode(secrets.token_bytes(5 * count)).decode().translate(_TO_CROCKFORD)
    return [f"LT-{spelled[start : start + 4]}-{spelled[start + 4 : start + 8]}" for start in range(0, 8 * count, 8)]
