"""Signed tokens for links in emails (itsdangerous' HMAC with the app's secret key, a salt per purpose).

A token says "this id, for this purpose, from us": anyone can read the id, nobody can make one
without TALKING_SECRET_KEY, and a token made for one purpose is refused for another. Timed tokens
also carry when they were made, so a link can expire (the join confirmation, the manage link).
"""

from __future__ import annotations

import hmac
import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, int_to_bytes

# Longer than any token we make; a longer one is refused before any HMAC or decompression is done.
MAX_TOKEN_CHARS = 1000


def sign_id(secret_key: str, purpose: str, value: int) -> str:
    """A URL-safe token carrying ``value`` for ``purpose``."""
    return URLSafeSerializer(secret_key, salt=purpose).dumps(value)


def sign_ids(secret_key: str, purpose: str, values: Iterable[int]) -> dict[int, str]:
    """``sign_id`` for many ids at once (a mailing to the whole panel): the same tokens, about ten times faster.

    ``sign_id`` builds a serializer and goes through its JSON and compression layers for every id,
    about 20 us each: 1.6 s of an 80,000-member mailing. An id's payload is its decimal digits (the
    JSON of an int), so this signs that payload with the serializer's own signer and derived key,
    once derived; the rare id whose digits the serializer would compress goes the slow way.
    tests/unit/test_signed_tokens.py holds the two equal.
    """
    signer = URLSafeSerializer(secret_key, salt=purpose).make_signer()
    if signer.digest_method().name != "sha1":  # itsdangerous' default, which the one-shot below assumes
        return {value: sign_id(secret_key, purpose, value) for value in values}
    key = signer.derive_key()
    separator = signer.sep
    signed = {}
    for value in values:
        digits = b"%d" % value
        # zlib's six bytes of header and checksum alone keep ten digits or fewer from shrinking by two
        # bytes, the serializer's test for compressing; longer ids (never a row id) go the slow way.
        if len(digits) > 10 and len(zlib.compress(digits)) < len(digits) - 1:
            signed[value] = sign_id(secret_key, purpose, value)
            continue
        payload = base64_encode(digits)
        # hmac.digest with the name: OpenSSL's one-shot, not the pure-Python HMAC a digest function would get.
        signature = base64_encode(hmac.digest(key, payload, "sha1"))
        signed[value] = (payload + separator + signature).decode("ascii")
    return signed


def unsign_id(secret_key: str, purpose: str, token: str) -> int | None:
    """The id a token carries, or None if it was not made by us for this purpose (or is not an id)."""
    try:
        value = URLSafeSerializer(secret_key, salt=purpose).loads(token)
    except BadSignature:
        return None
    return value if _is_id(value) else None


def _is_id(value: object) -> bool:
    # bool is an int in Python; only ids we signed count.
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class TokenExpired(Exception):
    """A token we made, but longer ago than its link lasts."""


class SignedValue(NamedTuple):
    """What a timed token carries, and when it was made (UTC, to the second)."""

    value: Any
    issued_at: datetime


def sign_timed(secret_key: str, purpose: str, value: Any) -> str:
    """A URL-safe token carrying ``value`` (anything JSON can hold) and the time it was made."""
    return URLSafeTimedSerializer(secret_key, salt=purpose).dumps(value)


def sign_timed_ids(secret_key: str, purpose: str, values: Iterable[int]) -> dict[int, str]:
    """``sign_timed`` for many ids at once, all stamped with this second: the same tokens, far faster.

    ``sign_timed`` costs about 50 us an id (a serializer built and its key derived each time): 4 s
    of an 80,000-member invitation round. As ``sign_ids``, this signs each id's payload with the
    serializer's own timestamp signer, its key derived once; tests/unit/test_signed_tokens.py holds
    the two equal.
    """
    signer = URLSafeTimedSerializer(secret_key, salt=purpose).make_signer()
    if signer.digest_method().name != "sha1":  # itsdangerous' default, which the one-shot below assumes
        return {value: sign_timed(secret_key, purpose, value) for value in values}
    key = signer.derive_key()
    separator = signer.sep
    stamp = separator + base64_encode(int_to_bytes(signer.get_timestamp()))
    signed = {}
    for value in values:
        digits = b"%d" % value
        if len(digits) > 10 and len(zlib.compress(digits)) < len(digits) - 1:  # as in sign_ids
            signed[value] = sign_timed(secret_key, purpose, value)
            continue
        stamped = base64_encode(digits) + stamp
        signature = base64_encode(hmac.digest(key, stamped, "sha1"))
        signed[value] = (stamped + separator + signature).decode("ascii")
    return signed


def unsign_timed(secret_key: str, purpose: str, token: str, max_age_seconds: int) -> SignedValue | None:
    """What a timed token carries, None if we did not make it for this purpose, TokenExpired if too old."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        value, issued_at = URLSafeTimedSerializer(secret_key, salt=purpose).loads(
            token, max_age=max_age_seconds, return_timestamp=True
        )
    except SignatureExpired as exc:
        raise TokenExpired(purpose) from exc
    except BadSignature:  # also a payload that is not ours to read (BadPayload, BadTimeSignature)
        return None
    return SignedValue(value, issued_at)


def unsign_timed_id(secret_key: str, purpose: str, token: str, max_age_seconds: int) -> SignedValue | None:
    """A timed token carrying an id, as ``unsign_timed``; a token whose value is not an id is None."""
    found = unsign_timed(secret_key, purpose, token, max_age_seconds)
    return found if found is not None and _is_id(found.value) else None
