"""Signed tokens for links in emails (itsdangerous' HMAC with the app's secret key, a salt per purpose).

A token says "this id, for this purpose, from us": anyone can read the id, nobody can make one
without TALKING_SECRET_KEY, and a token made for one purpose is refused for another.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer


def sign_id(secret_key: str, purpose: str, value: int) -> str:
    """A URL-safe token carrying ``value`` for ``purpose``."""
    return URLSafeSerializer(secret_key, salt=purpose).dumps(value)


def unsign_id(secret_key: str, purpose: str, token: str) -> int | None:
    """The id a token carries, or None if it was not made by us for this purpose (or is not an id)."""
    try:
        value = URLSafeSerializer(secret_key, salt=purpose).loads(token)
    except BadSignature:
        return None
    # bool is an int in Python; only ids we signed count.
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
