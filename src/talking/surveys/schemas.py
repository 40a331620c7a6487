"""msgspec Structs for surveys and responses, as the API and the pages exchange them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

MAX_COMMENT_CHARS = 2_000
MAX_PICKS_LIMIT = 10

SurveyStatus = Literal["draft", "open", "closed"]


class SurveyIssue(msgspec.Struct, frozen=True):
    """An issue as a survey offers it."""

    code: str
    label: str


class Survey(msgspec.Struct, frozen=True):
    """A survey's definition: what residents are asked and when."""

    id: int
    title: str
    introduction: str
    max_picks: int
    status: SurveyStatus
    issues: tuple[SurveyIssue, ...]
    opens_at: datetime | None = None
    closes_at: datetime | None = None

    def is_open_at(self, now: datetime) -> bool:
        """Whether residents may answer at ``now``: published, and inside any opening window."""
        return (
            self.status == "open"
            and (self.opens_at is None or self.opens_at <= now)
            and (self.closes_at is None or now < self.closes_at)
        )

    def issue_codes(self) -> frozenset[str]:
        """The codes this survey offers."""
        return frozenset(i.code for i in self.issues)

    def label_of(self, code: str) -> str:
        """The label this survey shows for an issue code."""
        return next(i.label for i in self.issues if i.code == code)


class SurveyCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What it takes to create a survey (the demo loader, tests, and later the staff builder)."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    issues: tuple[str, ...]
    introduction: str = ""
    max_picks: Annotated[int, msgspec.Meta(ge=1, le=MAX_PICKS_LIMIT)] = 5
    status: SurveyStatus = "draft"
    opens_at: datetime | None = None
    closes_at: datetime | None = None


class ResponseCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One resident's answers, as posted to the API (the pages build the same Struct)."""

    district: str
    picks: list[str]
    comment: str | None = None
    age_band: str | None = None
    sex: str | None = None


class Receipt(msgspec.Struct, frozen=True):
    """What a resident gets back once their response is committed."""

    id: int
    reference: str


class FieldError(msgspec.Struct, frozen=True):
    """One thing wrong with one field, in words a resident or developer can act on."""

    field: str
    message: str
