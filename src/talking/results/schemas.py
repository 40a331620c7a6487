"""The public results as msgspec Structs: the frozen figures of a publication, and the API's answers.

``PublicFigures`` is what a publication stores (JSON) and what the pages, feeds and open data read:
only figures disclosure control lets out (a suppressed district carries none), and no comment,
email, postcode or other free text a resident typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

Stage = Literal["interim", "final"]


class PublicIssue(msgspec.Struct, frozen=True):
    """One issue's standing in one area, as published."""

    code: str
    label: str
    rank: int
    rank_range: tuple[int, int]  # the simultaneous confidence set for the rank: [best, worst]
    score: float  # priority score 0-100
    score_ci: tuple[float, float]
    first_choice_share: float  # 0-1
    mention_share: float  # 0-1
    # A district's issue against the county: "over", "under" or "as county"; None for the county.
    versus_county: str | None = None


class PublicArea(msgspec.Struct, frozen=True):
    """The county or one district: its answers and issues, or none when suppressed."""

    code: str  # "county" or an ONS code
    name: str
    responses: int | None  # None when suppressed
    suppressed: bool
    issues: list[PublicIssue]


class PublicFigures(msgspec.Struct, frozen=True):
    """Everything a publication shows, frozen when staff published it."""

    survey_id: int
    title: str
    wave: int
    stage: Stage
    responses: int
    min_cell: int  # areas with fewer answers than this are suppressed
    weighting: str  # how the county figures were weighted, in words
    method_version: str
    county: PublicArea
    districts: list[PublicArea]


class PublishedSummary(msgspec.Struct, frozen=True):
    """The API's answer to a publication: what is now public, and where."""

    survey_id: int
    stage: Stage
    responses: int
    published_at: datetime
    url: str
