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


def test_timed_tokens_for_many_ids_are_the_tokens_sign_timed_makes() -> None:
    """sign_timed_ids stamps every id with one second; each token is sign_timed's of that second."""
    from itsdangerous import URLSafeTimedSerializer

    from talking.signed_tokens import sign_timed_ids, unsign_timed_id

    ids = [1, 9, 10, 99, 12_345, 2**31 - 1, 10**12, 11_111_111_111_111]
    signed = sign_timed_ids(KEY, PURPOSE, ids)
    for value, token in signed.items():
        read = unsign_timed_id(KEY, PURPOSE, token, max_age_seconds=60)
        assert read is not None and read.value == value
        # Re-made by itsdangerous itself at the token's own second: byte for byte the same.
        serializer = URLSafeTimedSerializer(KEY, salt=PURPOSE)
        signer = serializer.make_signer()
        signer.get_timestamp = lambda read=read: int(read.issued_at.timestamp())  # type: ignore[method-assign]
        assert signer.sign(serializer.dump_payload(value)).decode() == token
    assert unsign_timed_id(KEY, "another purpose", signed[1], 60) is None
