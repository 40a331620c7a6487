"""The one rule for text people type: residents' comments and answers, staff's titles, prompts and
labels, account emails and token names, through the API and the pages alike.

``clean_text`` is what is stored; ``text_problem`` says what is wrong, in words for the person who
typed it. Services call both, so the API and the pages cannot differ.

- Normalised to NFC, so a letter typed precomposed or as letter + accent is stored, counted and
  compared as the same text.
- Line endings become ``\\n`` (multi-line fields), and surrounding whitespace and zero-width
  characters are trimmed: they are invisible, and would make equal labels differ.
- Refused: C0 controls (tab and line breaks only in multi-line fields), DEL and C1 controls (they
  break CSV exports and terminals; PostgreSQL refuses NUL outright), bidirectional embeddings,
  overrides and isolates U+202A-U+202E, U+2066-U+2069 (they can reorder how text displays, as in
  "Trojan Source"), lone surrogates and noncharacters (not text; they cannot be stored as UTF-8).
- Allowed: the left-to-right and right-to-left marks U+200E, U+200F and the Arabic letter mark
  U+061C. They change no order beyond themselves and are needed to write Urdu, Arabic or Hebrew
  mixed with numbers or English correctly; zero-width joiners are needed by emoji and Indic scripts.
- Text made only of whitespace and invisible characters counts as blank.
- Lengths are counted in characters (code points) after normalising.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls but tab, line feed and carriage return; DEL; C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_CONTROL = re.compile(r"[\t\n\r]")
_BIDI_CONTROL = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# Lone surrogates (JSON "\ud800" is refused by msgspec, but Python strings may carry them) and the
# 66 noncharacters.
_NOT_TEXT = re.compile(r"[\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\U0001fffe\U0001ffff\U0010fffe\U0010ffff]")
# Characters that show nothing on their own although Unicode does not class them as spaces or
# format characters: the Hangul fillers and the blank Braille pattern.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Trimmed from both ends along with whitespace: zero-width space, word joiner, byte order mark.
_EDGE_INVISIBLE = "\u200b\u2060\ufeff"


def clean_text(value: str, *, multiline: bool = False) -> str:
    """The text as stored: NFC, line endings as \\n (multi-line), surrounding space trimmed."""
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = unicodedata.normalize("NFC", value)
    # str.strip() knows every Unicode space; the zero-width ones are not spaces to it.
    previous = None
    while previous != value:
        previous, value = value, value.strip().strip(_EDGE_INVISIBLE)
    return "" if is_blank(value) else value


def is_blank(value: str) -> bool:
    """Whether the text shows nothing: empty, or only spaces and invisible characters."""
    return all(
        ch.isspace() or ch in _BLANK_LOOKING or unicodedata.category(ch) in ("Cf", "Cc", "Mn", "Me", "Zs")
        for ch in value
    )


def text_problem(
    value: str, *, label: str, max_chars: int, multiline: bool = False, required: bool = False
) -> str | None:
    """What is wrong with this text for a field called ``label`` ("The title"), or None when it is fine."""
    if _NOT_TEXT.search(value):
        return f"{label} must be readable text: it holds characters that are not text"
    if _CONTROL.search(value) or (not multiline and _LINE_CONTROL.search(value)):
        if "\x00" in value:
            return f"{label} must not contain control characters such as NUL"
        if not multiline and _LINE_CONTROL.search(value) and not _CONTROL.search(value):
            return f"{label} must be one line, without tabs or line breaks"
        return f"{label} must not contain control characters"
    if _BIDI_CONTROL.search(value):
        return f"{label} must not contain characters that change the direction text is shown in"
    cleaned = clean_text(value, multiline=multiline)
    if is_blank(cleaned):
        return f"Enter {label[0].lower()}{label[1:]}" if required else None
    if len(cleaned) > max_chars:
        return f"{label} must be {max_chars:,} characters or fewer"
    return None
