"""The errors services raise and every audience understands: field errors and the domain's refusals.

They live here, outside any feature, because `problems.py` turns each of them into one answer for
the API (RFC 9457 problem details) and for people (an error page), and because more than one
feature raises them: the residents' answers and the staff's questionnaires break rules in the same
way, and a survey missing is missing to everyone.
"""

from __future__ import annotations

import msgspec


class FieldError(msgspec.Struct, frozen=True):
    """One thing wrong with one field, in words a resident or developer can act on."""

    field: str
    message: str


class RulesBroken(ValueError):
    """A request that breaks the rules, field by field; nothing was stored or changed."""

    def __init__(self, errors: list[FieldError], summary: str | None = None) -> None:
        super().__init__(summary if summary is not None else "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class InvalidResponse(RulesBroken):
    """A resident's answers, or a survey's definition, break the rules; nothing was stored."""


class SurveyNotFound(LookupError):
    """No survey has this id."""


class SurveyNotOpen(Exception):
    """The survey exists but is not taking responses (draft, closed, or outside its dates)."""

    def __init__(self, survey_id: int, status: str) -> None:
        super().__init__(f"Survey {survey_id} is not open for responses (it is {status})")
        self.survey_id = survey_id
        self.status = status


class IdempotencyConflict(Exception):
    """An Idempotency-Key was used before for a different request."""


class WrongSurveyState(Exception):
    """The action does not fit the survey's state (publishing a closed survey, editing a published one)."""


class InvitationRefused(Exception):
    """An answer to a members survey without a valid invitation for it: none given, unknown, forged,
    for another survey, or its member's details erased. The API gives one refusal (403) for all of
    them: a partner system needs to know the answer was not taken, not which reason applied."""

    def __init__(self, survey_id: int, detail: str) -> None:
        super().__init__(detail)
        self.survey_id = survey_id


class InvitationUsed(Exception):
    """The invitation has already been answered: one answer per invitation (409)."""

    def __init__(self) -> None:
        super().__init__("This invitation has already been answered: each invitation takes one answer.")
