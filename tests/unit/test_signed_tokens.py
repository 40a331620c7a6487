"""sign_ids, the fast way to sign a whole mailing's ids, makes exactly the tokens sign_id makes and unsign_id reads."""

from __future__ import annotations

from talking.signed_tokens import sign_id, sign_ids, unsign_id

KEY = "test-secret-key-of-a-reasonable-length"
PURPOSE = "talking.members.unsubscribe"


def test_the_same_tokens_as_one_at_a_time() -> None:
    # Small ids, the largest row id, and ids whose digits the serializer compresses (long runs).
    ids = [*range(1, 2_001), 2**31 - 1, 1_000_000_000, 1_111_111_111, 10**12, 10**15]
    signed = sign_ids(KEY, PURPOSE, ids)
    assert signed == {value: sign_id(KEY, PURPOSE, value) for value in ids}
    assert all(unsign_id(KEY, PURPOSE, token) == value for value, token in signed.items())


def test_a_token_for_one_purpose_or_key_is_refused_for_another() -> None:
    token = sign_ids(KEY, PURPOSE, [42])[42]
    assert unsign_id(KEY, "talking.something.else", token) is None
    assert unsign_id("another-key", PURPOSE, token) is None
