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
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_LINE_CONTROL = "\t\n\r"
_BIDI_CONTROL = "\u202a-\u202e\u2066-\u2069"
# Lone surrogates (JSON "\ud800" is refused by msgspec, but Python strings may carry them) and the
# noncharacters of the Basic Multilingual Plane and the last two planes.
_NOT_TEXT = "\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\U0001fffe\U0001ffff\U0010fffe\U0010ffff"
# One search finds any refused character (this runs on every resident's comment); which one it
# was only matters for the message.
_REFUSED_IN_LINES = re.compile(f"[{_CONTROL}{_BIDI_CONTROL}{_NOT_TEXT}]")
_REFUSED_IN_A_LINE = re.compile(f"[{_CONTROL}{_LINE_CONTROL}{_BIDI_CONTROL}{_NOT_TEXT}]")
_BIDI = re.compile(f"[{_BIDI_CONTROL}]")
_NOT_TEXT_CHARACTER = re.compile(f"[{_NOT_TEXT}]")
# Characters that show nothing on their own although Unicode does not class them as spaces or
# format characters: the Hangul fillers and the blank Braille pattern.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Trimmed from both ends along with whitespace: zero-width space, word joiner, byte order mark.
_EDGE_INVISIBLE = "\u200b\u2060\ufeff"
_EDGE_INVISIBLE_SET = frozenset(_EDGE_INVISIBLE)
# Format characters (zero-width ones, joiners), controls, marks that only combine, and spaces.
_INVISIBLE_CATEGORIES = frozenset(("Cf", "Cc", "Mn", "Me", "Zs"))


def clean_text(value: str, *, multiline: bool = False) -> str:
    """The text as stored: NFC, line endings as \\n (multi-line), surrounding space trimmed."""
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = unicodedata.normalize("NFC", value)
    # str.strip() knows every Unicode space; the zero-width ones are not spaces to it.
    value = value.strip()
    while value[:1] in _EDGE_INVISIBLE_SET or value[-1:] in _EDGE_INVISIBLE_SET:  # rare: loop only then
        value = value.strip(_EDGE_INVISIBLE).strip()
    return "" if is_blank(value) else value


def is_blank(value: str) -> bool:
    """Whether the text shows nothing: empty, or only spaces and invisible characters."""
    for ch in value:  # usually over at the first character
        if not (ch.isspace() or ch in _BLANK_LOOKING or unicodedata.category(ch) in _INVISIBLE_CATEGORIES):
            return False
    return True


def text_problem(
    value: str, *, label: str, max_chars: int, multiline: bool = False, required: bool = False
) -> str | None:
    """What is wrong with this text for a field called ``label`` ("The title"), or None when it is fine."""
    if (_REFUSED_IN_LINES if multiline else _REFUSED_IN_A_LINE).search(value):
        return _refusal(value, label)
    cleaned = clean_text(value, multiline=multiline)
    if not cleaned:  # blank, once cleaned
        return f"Enter {label[0].lower()}{label[1:]}" if required else None
    if len(cleaned) > max_chars:
        return f"{label} must be {max_chars:,} characters or fewer"
    return None


def _refusal(value: str, label: str) -> str:
    """The message for text holding a refused character (the worst kind it holds)."""
    if _NOT_TEXT_CHARACTER.search(value):
        return f"{label} must be readable text: it holds characters that are not text"
    if "\x00" in value:
        return f"{label} must not contain control characters such as NUL"
    if re.search(f"[{_CONTROL}]", value):
        return f"{label} must not contain control characters"
    if _BIDI.search(value):
        return f"{label} must not contain characters that change the direction text is shown in"
    return f"{label} must be one line, without tabs or line breaks"
