"""The link token of a member's invitation to a survey, and the hash that is all the database keeps.

The token is derived, not stored: HMAC-SHA256 of (survey, member) under TALKING_SECRET_KEY, 256 bits,
so nobody without the key can make or guess one, and a reminder can carry the same link as the
invitation although the database holds only ``token_hash(token)``. Changing the secret key voids
every link already sent (say so before rotating it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

# A token is 43 URL-safe base64 characters (32 bytes, unpadded); anything else is not one of ours.
TOKEN_LENGTH = 43


def invitation_token(secret_key: str, survey_id: int, member_id: int) -> str:
    """The token in the link that invites this member to answer this survey."""
    digest = hmac.new(secret_key.encode(), b"invitation:%d:%d" % (survey_id, member_id), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> bytes:
    """What the invitations table keeps of a token (its SHA-256), to find the invitation a link names."""
    return hashlib.sha256(token.encode("ascii", errors="replace")).digest()


def looks_like_token(text: str) -> bool:
    """Whether ``text`` has the shape of a token (checked before any database look-up)."""
    return len(text) == TOKEN_LENGTH and all(c.isascii() and (c.isalnum() or c in "-_") for c in text)
