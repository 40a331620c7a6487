"""Confirmation references: 40 random bits spelled in Crockford's base32, LT-XXXX-XXXX."""

from __future__ import annotations

import re

import pytest

from talking.surveys import references as reference_module

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O or U: easy to read aloud and type
REFERENCE = re.compile(rf"LT-[{CROCKFORD}]{{4}}-[{CROCKFORD}]{{4}}")


def spelled_bit_by_bit(five_bytes: bytes) -> str:
    """The reference for 40 bits, five bits per character, most significant first."""
    bits = int.from_bytes(five_bytes, "big")
    chars = "".join(CROCKFORD[(bits >> shift) & 31] for shift in range(35, -1, -5))
    return f"LT-{chars[:4]}-{chars[4:]}"


def test_each_reference_spells_its_own_five_random_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    entropy = bytes([0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x23, 0x45, 0x67, 0x89])
    monkeypatch.setattr(reference_module.secrets, "token_bytes", lambda n: entropy[:n])
    references = reference_module.new_references(3)
    assert references == ["LT-0000-0000", "LT-ZZZZ-ZZZZ", spelled_bit_by_bit(entropy[10:])]


def test_references_are_well_formed_and_use_the_whole_alphabet() -> None:
    references = reference_module.new_references(4_000)
    assert all(REFERENCE.fullmatch(reference) for reference in references)
    assert len(set(references)) == len(references)  # 40 bits: a clash in 4,000 has odds of about 1 in 140,000
    assert set("".join(reference[3:7] + reference[8:] for reference in references)) == set(CROCKFORD)


def test_no_references_asked_none_given() -> None:
    assert reference_module.new_references(0) == []
