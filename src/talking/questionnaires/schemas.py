"""msgspec Structs for building questionnaires."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from talking.surveys.schemas import MAX_PICKS_LIMIT, QuestionKind

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="lower-case letters, digits, -")]
QuestionKey = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]

# What staff see: "scheduled" is published but not yet open; "closed" includes past its closing time.
SurveyState = Literal["draft", "scheduled", "open", "closed"]

AGREEMENT_SCALE = (
    ("strongly-agree", "Strongly agree"),
    ("agree", "Agree"),
    ("neither", "Neither agree nor disagree"),
    ("disagree", "Disagree"),
    ("strongly-disagree", "Strongly disagree"),
)


class CustomIssue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An issue of this survey's own, outside the taxonomy."""

    code: Code
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class QuestionCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An extra question; choice questions list their options' labels (codes are made from them)."""

    kind: QuestionKind
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    key: QuestionKey | None = None
    hint: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    options: tuple[Annotated[str, msgspec.Meta(min_length=1, max_length=200)], ...] = ()
    required: bool = False


class SurveyCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A new questionnaire (always created as a draft)."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    issues: tuple[str | CustomIssue, ...]
    introduction: Annotated[str, msgspec.Meta(max_length=5000)] = ""
    max_picks: Annotated[int, msgspec.Meta(ge=1, le=MAX_PICKS_LIMIT)] = 5
    districts: tuple[str, ...] | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    questions: tuple[QuestionCreate, ...] = ()
    ask_about_you: bool = True


class SurveyCreated(msgspec.Struct, frozen=True):
    """The answer to creating a survey."""

    id: int
    status: str


class SurveySummary(msgspec.Struct, frozen=True):
    """A survey in the staff list."""

    id: int
    title: str
    status: str
    state: SurveyState
    wave: int
    previous_wave_id: int | None
    opens_at: datetime | None
    closes_at: datetime | None
    created_at: datetime
    responses: int


class DistrictCount(msgspec.Struct, frozen=True):
    """Responses so far from one district the survey covers."""

    code: str
    name: str
    responses: int
