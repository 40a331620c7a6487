"""A resident's way through one survey: what they have answered, and which page comes next.

The answers live in the web session (a dict per survey) between pages; this module knows nothing
of HTTP. The rules for each answer are in validation.py, shared with the JSON API.

Pages are named "district", "issues", "order", "question:<key>" (one per extra question),
"comment", "about-you" and "check". "order" is skipped when there is only one pick to order, and
"about-you" when the survey does not ask it. An invited journey skips the pages its membership
answered (see ``Progress.known``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from talking.security import random_token
from talking.surveys.schemas import ResponseCreate, Survey

QUESTION = "question:"


def session_key(survey_id: int) -> str:
    """Where a survey's answers-so-far live in the web session."""
    return f"survey:{survey_id}"


def reference_key(survey_id: int) -> str:
    """Where the reference of the resident's last submitted response to a survey lives."""
    return f"survey:{survey_id}:reference"


def _new_key() -> str:
    return "web-" + random_token(18)


class Progress(msgspec.Struct, kw_only=True):
    """The answers so far, and which optional pages the resident has been through."""

    # The Idempotency-Key of this journey: pressing Submit twice stores one response.
    key: str = msgspec.field(default_factory=_new_key)
    district: str | None = None
    picks: list[str] = msgspec.field(default_factory=list)  # most important first, once ordered
    ordered: bool = False
    answers: dict[str, str | list[str]] = msgspec.field(default_factory=dict)
    questions_done: list[str] = msgspec.field(default_factory=list)
    comment: str | None = None
    comment_done: bool = False
    age_band: str | None = None
    sex: str | None = None
    about_you_done: bool = False
    # An invited journey (/i/{token}): the SHA-256 of the invitation's token, in hex, kept until the
    # answers are sent (the writer claims the invitation with them), and the pages the membership
    # already answered ("district", and "about-you" when both age band and sex are known).
    invitation: str | None = None
    known: list[str] = msgspec.field(default_factory=list)

    @classmethod
    def from_session(cls, data: Any) -> Progress:
        """The progress stored in a session, or a fresh one if there is none (or it is unreadable)."""
        if isinstance(data, dict):
            try:
                return msgspec.convert(data, cls)
            except msgspec.ValidationError:
                pass
        return cls()

    def to_session(self) -> dict[str, Any]:
        """A JSON-friendly dict for the session."""
        return msgspec.to_builtins(self)

    def pages(self, survey: Survey) -> list[str]:
        """The pages this resident goes through, in order."""
        pages = ["district", "issues"]
        if len(self.picks) != 1:
            pages.append("order")
        pages.extend(QUESTION + question.key for question in survey.questions)
        pages.append("comment")
        if survey.ask_about_you:
            pages.append("about-you")
        pages.append("check")
        return [page for page in pages if page not in self.known] if self.known else pages

    def invitation_hash(self) -> bytes | None:
        """The invitation's token hash this journey answers, if it is an invited one."""
        try:
            return bytes.fromhex(self.invitation) if self.invitation else None
        except ValueError:  # not one we wrote: treated as no invitation (a members survey then refuses)
            return None

    def answered(self, page: str) -> bool:
        """Whether the resident has answered ``page`` (or been through it, for optional pages)."""
        if page.startswith(QUESTION):
            return page.removeprefix(QUESTION) in self.questions_done
        return {
            "district": self.district is not None,
            "issues": bool(self.picks),
            "order": self.ordered,
            "comment": self.comment_done,
            "about-you": self.about_you_done,
        }.get(page, False)

    def first_unanswered(self, survey: Survey) -> str:
        """The first page still waiting for an answer ("check" when everything is answered)."""
        return next(page for page in self.pages(survey) if page == "check" or not self.answered(page))

    def may_visit(self, survey: Survey, page: str) -> bool:
        """Whether ``page`` is part of this journey and every page before it has been answered."""
        pages = self.pages(survey)
        return page in pages and pages.index(page) <= pages.index(self.first_unanswered(survey))

    def next_after(self, survey: Survey, page: str) -> str:
        """The page that follows ``page``."""
        pages = self.pages(survey)
        return pages[min(pages.index(page) + 1, len(pages) - 1)]

    def previous(self, survey: Survey, page: str) -> str | None:
        """The page before ``page``, or None for the first page (whose Back goes to the start page)."""
        pages = self.pages(survey)
        index = pages.index(page) if page in pages else 0
        return pages[index - 1] if index > 0 else None

    def choose(self, picks: list[str]) -> None:
        """Take a new set of picks; a different set must be put in order again."""
        if set(picks) == set(self.picks):
            return
        kept = [code for code in self.picks if code in picks]
        self.picks = kept + [code for code in picks if code not in kept]
        self.ordered = len(self.picks) == 1

    def answer(self, key: str, value: str | list[str] | None) -> None:
        """Keep the answer to an extra question (None or empty: not answered)."""
        if value is None or value == []:
            self.answers.pop(key, None)
        else:
            self.answers[key] = value
        if key not in self.questions_done:
            self.questions_done.append(key)

    def response(self, survey: Survey) -> ResponseCreate:
        """The answers as the submission service takes them (only what this survey asks)."""
        return ResponseCreate(
            district=self.district or "",
            picks=list(self.picks),
            comment=self.comment,
            age_band=self.age_band if survey.ask_about_you else None,
            sex=self.sex if survey.ask_about_you else None,
            answers={key: value for key, value in self.answers.items() if survey.question(key) is not None},
        )


def order_from_positions(
    picks: list[str], positions: dict[str, str | None], label_of: Callable[[str], str]
) -> tuple[list[str], dict[str, str]]:
    """Turn the number chosen for each pick ("1".."k") into the picks in order, or error messages by pick.

    Every pick needs a number, and no two picks may share one.
    """
    errors: dict[str, str] = {}
    chosen: dict[str, int] = {}
    allowed = {str(n) for n in range(1, len(picks) + 1)}
    for code in picks:
        value = positions.get(code)
        if value in allowed:
            chosen[code] = int(value)
        else:
            errors[code] = f"Select a number for {label_of(code)}"
    for code, number in chosen.items():
        others = [label_of(other) for other, n in chosen.items() if n == number and other != code]
        if others:
            errors[code] = f"Give {label_of(code)} a different number from {' and '.join(others)}"
    if errors:
        return [], {code: errors[code] for code in picks if code in errors}
    return sorted(picks, key=chosen.__getitem__), {}
