"""The data's licences for a pack's appendix, read from reference/SOURCES.md (one place for attributions)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

SOURCES = Path(__file__).resolve().parents[1] / "reference" / "SOURCES.md"
_ATTRIBUTION = re.compile(r"licen[cs]e|©|copyright|^source:", re.IGNORECASE)


@cache
def licences() -> list[tuple[str, list[str]]]:
    """(data file, its source and licence paragraphs) for every file SOURCES.md describes."""
    found: list[tuple[str, list[str]]] = []
    for section in re.split(r"^## ", SOURCES.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]:
        name, _, body = section.partition("\n")
        paragraphs = [" ".join(p.split()) for p in body.split("\n\n") if p.strip()]
        kept = [p for p in paragraphs if _ATTRIBUTION.search(p)]
        if kept:
            found.append((name.strip(), kept))
    return found
