"""Personal details in residents' comments, found and removed before staff can publish one as a quote.

The rule set (documented in the README, "You said, we did"), applied in this order:

- **Email addresses**: anything shaped ``name@domain.tld``; removed.
- **Phone numbers**: what Google's libphonenumber (the `phonenumbers` package, offline, kept up to
  date with Ofcom's numbering) recognises as a valid UK or international number, and, as a safety
  net, any run of 10 or 11 digits starting 0 or +44 in the usual spacings (Ofcom's drama numbers,
  07700 900xxx, are not "valid" to the library); removed.
- **UK postcodes**: a full postcode in any case or spacing (``PR1 2HE``, ``pr12he``); removed.
  An outward code alone (``PR1``) covers thousands of homes and is kept.
- **Street names**: a house number (optional), one to three capitalised words and a street word
  from ``STREET_WORDS`` (Road, Street, Lane, Avenue, Close, ...): ``12 Fishergate Hill Road``;
  removed. The same shape in lower case (``cars race down church lane``) is flagged, not removed,
  unless its words are generic (``the main road``).
- **People's names**: a title and a capitalised name (``Mr Smith``, ``PC Jones``, ``Cllr Ann Lee``);
  removed. Any other capitalised word inside a sentence that is not a known place or common
  word is flagged as a possible name, for staff to judge.

Removed details become ``[email address removed]`` and the like. Staff see every finding beside the
comment and may edit the text before approving it; what they approve is checked again, and a
quote still holding a removable detail is refused. No set of rules finds every name: that is why
nothing is published unless a person has read it.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec
import phonenumbers

from talking.reference import districts

Kind = Literal["email", "phone", "postcode", "street", "name"]
KINDS: tuple[Kind, ...] = ("email", "phone", "postcode", "street", "name")
KIND_WORDS: dict[str, str] = {
    "email": "an email address",
    "phone": "a phone number",
    "postcode": "a postcode",
    "street": "a street name",
    "name": "a person's name",
}
REMOVED: dict[str, str] = {
    "email": "[email address removed]",
    "phone": "[phone number removed]",
    "postcode": "[postcode removed]",
    "street": "[street name removed]",
    "name": "[name removed]",
}

STREET_WORDS = (
    "Road", "Rd", "Street", "St", "Lane", "Ln", "Avenue", "Ave", "Close", "Drive", "Way", "Crescent", "Grove",
    "Place", "Terrace", "Gardens", "Court", "Walk", "Row", "Mews", "Square", "Hill", "Brow", "Fold", "Croft",
    "Parade", "View", "Rise", "Vale", "Meadows", "Wynd", "Boulevard", "Crossing", "Approach", "Bank", "Green",
)  # fmt: skip
_words = str.split  # a word list written as text, one space apart
TITLES = ("Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Cllr", "Councillor", "PC", "PCSO", "Sgt", "Sergeant", "Inspector")
# Words before a street word that say nothing about where: "the main road", "our street".
GENERIC = frozenset(
    _words(
        """
        the a an our my your their his her this that main busy back side every each one same local high new
        old any whole long top bottom next other in on at down up along near by of off to from round around
        past into onto across over under behind beside and or
        """
    )
)
# Capitalised words that are not names: places, days, months, services, and words that start clauses.
KNOWN_WORDS = frozenset(
    {word for district in districts() for word in re.findall(r"[A-Za-z]+", district.name)}
    | set(
        _words(
            """
            I I'm I've I'd I'll Lancashire England UK Britain British English Police Council County Borough
            Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July
            August September October November December Christmas Easter Halloween Bonfire NHS PCSO PCSOs ASB
            Covid The A An And But Or So If When Then There This That These Those It We You They He She Our My
            Your Their His Her Please Thanks Thank Also Just Not No Yes More Most Some Many All Every Lots Cars
            Kids Youths Drivers People Residents Speeding Parking Litter Drugs Dealing Burglary Fraud Anti
            Social Road Safety Criminal Damage Alcohol Violent Crime Town Centre Park Station Bus Train Tesco
            Asda Morrisons Aldi Lidl Sainsbury's McDonald's Facebook WhatsApp Blackpool Preston Lancaster
            Morecambe Fleetwood Chorley Leyland Burnley Accrington Blackburn Darwen Clitheroe Ormskirk
            Skelmersdale Lytham Nelson Colne Rawtenstall Bacup Garstang Poulton Thornton Cleveleys Kirkham
            Longridge Penwortham
            """
        )
    )
)

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# 10 or 11 digits from a leading 0 or +44, with the spaces, hyphens, dots and brackets people type.
_PHONE_SHAPE = re.compile(r"(?<![\w])(?:\+\s?44\s?(?:\(0\)\s?)?|\(?0)\d(?:[\s.\-()]{0,2}\d){8,9}(?!\w)")
_POSTCODE = re.compile(
    r"\b(?:GIR\s?0AA|[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d{1,2}|\d[A-HJKPSTUW]|[A-HK-Y]\d[ABEHMNPRVWXY])\s?\d[ABD-HJLNP-UW-Z]{2})\b",
    re.IGNORECASE,
)
_STREET_WORD = "|".join(STREET_WORDS)
_STREET = re.compile(rf"\b(?:\d+[A-Za-z]?,?\s+)?(?:[A-Z][\w'’-]*\s+){{1,3}}(?:{_STREET_WORD})\b\.?")
_STREET_LOWER = re.compile(rf"\b([a-z][\w'’-]*)\s+(?:{_STREET_WORD.lower()})\b")
_TITLED_NAME = re.compile(rf"\b(?:{'|'.join(TITLES)})\.?\s+[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?")
_WORD_MID_SENTENCE = re.compile(r"(?<=[^\s.!?\n])(\s+)([A-Z][a-z'’-]+)")


class Finding(msgspec.Struct, frozen=True):
    """One personal detail found: what kind, the text found, and whether it was removed or only flagged."""

    kind: Kind
    text: str
    removed: bool

    @property
    def words(self) -> str:
        """ "a phone number (01772 123456), removed" for the moderation list."""
        return f"{KIND_WORDS[self.kind]} ({self.text}), {'removed' if self.removed else 'check it'}"


class Redacted(msgspec.Struct, frozen=True):
    """A comment with its personal details removed, and what was found."""

    text: str
    findings: list[Finding]


def redact(comment: str) -> Redacted:
    """The comment with every removable detail replaced, and each finding (removed or flagged)."""
    findings: list[Finding] = []
    text = comment
    # Kind by kind, each on what the kinds before left: an email's digits are not also a phone number.
    for kind in KINDS:
        spans = _spans(kind, text)
        findings.extend(Finding(kind, text[start:end].strip(), True) for start, end in spans)
        for start, end in reversed(spans):
            text = text[:start] + REMOVED[kind] + text[end:]
    findings.extend(_flags(text))
    return Redacted(text, findings)


def removable_details(text: str) -> list[Finding]:
    """The details in ``text`` that must be removed before it is published (for an edited quote)."""
    return [Finding(kind, text[start:end].strip(), True) for kind in KINDS for start, end in _spans(kind, text)]


def _spans(kind: Kind, text: str) -> list[tuple[int, int]]:
    """Where the details of one kind are in ``text``, in order, not overlapping."""
    if kind == "email":
        return _regex_spans(_EMAIL, text)
    if kind == "phone":
        return _merge(
            [
                (m.start, m.end)
                for m in phonenumbers.PhoneNumberMatcher(text, "GB", leniency=phonenumbers.Leniency.VALID)
            ]
            + _regex_spans(_PHONE_SHAPE, text)
        )
    if kind == "postcode":
        return _regex_spans(_POSTCODE, text)
    if kind == "street":
        return _regex_spans(_STREET, text)
    return _regex_spans(_TITLED_NAME, text)


def _regex_spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans made one (the library and the safety net often find the same number)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _flags(text: str) -> list[Finding]:
    """What might be personal but is left for staff to judge: lower-case street names, capitalised words."""
    flags = []
    for m in _STREET_LOWER.finditer(text):
        if m.group(1) not in GENERIC:
            flags.append(Finding("street", m.group(0), False))
    for m in _WORD_MID_SENTENCE.finditer(text):
        word = m.group(2)
        if word not in KNOWN_WORDS and text[max(0, m.start(2) - 1) : m.start(2)] != "[":
            flags.append(Finding("name", word, False))
    return flags
