"""msgspec Structs for surveys and responses, as the API and the pages exchange them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

MAX_COMMENT_CHARS = 2_000
MAX_PICKS_LIMIT = 10

SurveyStatus = Literal["draft", "open", "closed"]
# "open": anyone with the link answers; "members": invited panel members only, one answer each.
Audience = Literal["open", "members"]
QuestionKind = Literal["single_choice", "multiple_choice", "agreement", "free_text"]


class SurveyIssue(msgspec.Struct, frozen=True):
    """An issue as a survey offers it."""

    code: str
    label: str


class QuestionOption(msgspec.Struct, frozen=True):
    """One answer a resident can choose, with a stable code."""

    code: str
    label: str


class SurveyQuestion(msgspec.Struct, frozen=True):
    """An extra question after the ranked issues."""

    key: str
    kind: QuestionKind
    prompt: str
    hint: str = ""
    options: tuple[QuestionOption, ...] = ()
    required: bool = False


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
    # The ONS codes of the districts it covers (all 14 unless staff chose fewer).
    districts: tuple[str, ...] = ()
    questions: tuple[SurveyQuestion, ...] = ()
    ask_about_you: bool = True
    wave: int = 1
    previous_wave_id: int | None = None
    audience: Audience = "open"

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

    def covers(self, district: str) -> bool:
        """Whether residents of this district are asked."""
        return not self.districts or district in self.districts

    def question(self, key: str) -> SurveyQuestion | None:
        """The extra question with this key, if the survey asks it."""
        return next((q for q in self.questions if q.key == key), None)

    def label_of(self, code: str) -> str:
        """The label this survey shows for an issue code."""
        return next(i.label for i in self.issues if i.code == code)


class ResponseCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One resident's answers, as posted to the API (the pages build the same Struct)."""

    # Required for an open survey; with an invitation it comes from the membership (and may be left out).
    district: str | None = None
    picks: list[str]
    comment: str | None = None
    age_band: str | None = None
    sex: str | None = None
    # Extra questions by key: an option code, a list of codes (multiple choice) or free text.
    answers: dict[str, str | list[str]] = msgspec.field(default_factory=dict)
    # A members survey's invitation: the token from the link in the member's email (surveys/invited.py).
    invitation: str | None = None


class Receipt(msgspec.Struct, frozen=True):
    """What a resident gets back once their response is committed."""

    id: int
    reference: str
