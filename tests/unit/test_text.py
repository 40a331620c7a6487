"""talking/text.py: the one rule for typed text, character by character."""

from __future__ import annotations

import pytest

from talking.text import clean_text, is_blank, text_problem


def problem(value: str, **options: object) -> str | None:
    return text_problem(value, label="The title", max_chars=options.pop("max_chars", 10), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)])
def test_every_c0_and_c1_control_is_refused(code: int) -> None:
    assert problem(f"a{chr(code)}b", multiline=True) is not None
    assert problem(f"a{chr(code)}b") is not None


@pytest.mark.parametrize("code", [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
def test_direction_overrides_embeddings_and_isolates_are_refused(code: int) -> None:
    assert "direction" in (problem(f"a{chr(code)}b") or "")


@pytest.mark.parametrize("mark", ["\u200e", "\u200f", "\u061c"])
def test_direction_marks_are_text(mark: str) -> None:
    assert problem(f"12{mark}3") is None


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", "\ufffe", "\uffff", "\ufdd0", "\U0010ffff"])
def test_what_is_not_text_is_refused(value: str) -> None:
    assert problem(value) is not None


def test_line_breaks_and_tabs_only_in_multi_line_text() -> None:
    for value in ("a\nb", "a\rb", "a\tb"):
        assert "one line" in (problem(value) or "")
        assert problem(value, multiline=True) is None


def test_nul_is_named() -> None:
    assert problem("a\x00b") == "The title must not contain control characters such as NUL"


@pytest.mark.parametrize("value", ["", "   ", "\u200b", "\ufeff\u200d", "\u3164\u2800", "\u0301", "\u00a0\u2003"])
def test_invisible_text_is_blank(value: str) -> None:
    assert is_blank(value)
    assert clean_text(value) == ""
    assert problem(value, required=True) == "Enter the title"
    assert problem(value) is None


def test_visible_text_is_not_blank() -> None:
    for value in ("a", "\u0627", "😀", "\u200d😀"):
        assert not is_blank(value)


def test_cleaning_normalises_trims_and_joins_lines() -> None:
    assert clean_text("  Cafe\u0301  ") == "Café"
    assert clean_text("\u200b\ufeff x \u2060") == "x"
    assert clean_text(" a\r\nb\rc\n ", multiline=True) == "a\nb\nc"
    assert clean_text("👩\u200d👩\u200d👧") == "👩\u200d👩\u200d👧"  # the joiners inside stay


def test_length_is_counted_once_normalised() -> None:
    assert problem("e\u0301" * 10) is None  # ten characters once composed
    assert problem("x" * 11) == "The title must be 10 characters or fewer"
    assert problem("  " + "x" * 10 + "  ") is None
