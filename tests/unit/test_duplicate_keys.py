"""The repeated-key check (web/request_bodies.duplicate_key): its quick look and the full reading agree."""

from __future__ import annotations

import pytest

from talking.web.request_bodies import duplicate_key

CASES = {
    "no repeat": (b'{"district": "E07000123", "picks": ["fraud", "burglary"]}', None),
    "a repeated key": (b'{"district": "x", "district": "E07000123"}', "district"),
    "a value twice, no key": (b'{"age_band": "prefer-not-to-say", "sex": "prefer-not-to-say"}', None),
    "a key written again as a value": (b'{"a": "b", "b": 1}', None),
    "the same key in two objects": (b'{"answers": {"q": 1}, "more": {"q": 2}}', None),
    "a repeat in a nested object": (b'{"answers": {"q": "yes", "q": "no"}}', "q"),
    "a repeat written with an escape": (b'{"district": "x", "distr\\u0069ct": "y"}', "district"),
    "an escaped quote in a value": (b'{"comment": "say \\"picks\\"", "picks": []}', None),
    "a repeat after an escaped quote": (b'{"comment": "\\"", "comment": "two"}', "comment"),
    "letters beyond ASCII": ('{"comment": "caf\u00e9", "comment": "\u00e9"}'.encode(), "comment"),
}


@pytest.mark.parametrize("body, repeated", CASES.values(), ids=CASES.keys())
def test_repeated_keys_are_found_however_they_are_written(body: bytes, repeated: str | None) -> None:
    assert duplicate_key(body) == repeated
