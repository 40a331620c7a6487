"""msgspec Structs for building questionnaires."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from talking.surveys.schemas import MAX_PICKS_LIMIT, Audience, QuestionKind

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="lower-case letters, digits, -")]
QuestionKey = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]

# What staff see: "scheduled" is published but not yet open; "closed" includes past its closing time.
SurveyState = Literal["draft", "scheduled", "open", "closed"]

# Typed text: its rule (talking/text.py) and lengths (questionnaires/wording.py) are the service's,
# counted once normalised, so the API and the pages refuse alike; these only document it.
Label = Annotated[str, msgspec.Meta(description="1-200 characters, one line")]
Prompt = Annotated[str, msgspec.Meta(description="1-300 characters, one line")]
Hint = Annotated[str, msgspec.Meta(description="up to 1,000 characters")]
Title = Annotated[str, msgspec.Meta(description="1-200 characters, one line")]
Introduction = Annotated[str, msgspec.Meta(description="up to 5,000 characters")]

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
    label: Label


class QuestionCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An extra question; choice questions list their options' labels (codes are made from them)."""

    kind: QuestionKind
    prompt: Prompt
    key: QuestionKey | None = None
    hint: Hint = ""
    options: tuple[Label, ...] = ()
    required: bool = False


class SurveyCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A new questionnaire (always created as a draft)."""

    title: Title
    issues: tuple[str | CustomIssue, ...]
    introduction: Introduction = ""
    max_picks: Annotated[int, msgspec.Meta(ge=1, le=MAX_PICKS_LIMIT)] = 5
    districts: tuple[str, ...] | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    questions: tuple[QuestionCreate, ...] = ()
    ask_about_you: bool = True
    # "members": invited panel members only, one answer each; locked once published.
    audience: Audience = "open"


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
    audience: Audience = "open"


class DistrictCount(msgspec.Struct, frozen=True):
    """Responses so far from one district the survey covers, and (members surveys) its invitations."""

    code: str
    name: str
    responses: int
    # Panel members invited to this survey from the district, and how many of them have answered.
    invited: int = 0
    answered: int = 0
