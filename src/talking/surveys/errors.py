"""What can go wrong when a resident answers a survey."""

from __future__ import annotations

from talking.surveys.schemas import FieldError


class SurveyNotFound(LookupError):
    """No survey has this id."""


class SurveyNotOpen(Exception):
    """The survey exists but is not taking responses (draft, closed, or outside its dates)."""

    def __init__(self, survey_id: int, status: str) -> None:
        super().__init__(f"Survey {survey_id} is not open for responses (it is {status})")
        self.survey_id = survey_id
        self.status = status


class InvalidResponse(ValueError):
    """The answers break the rules; nothing was stored."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class IdempotencyConflict(Exception):
    """An Idempotency-Key was used before for a different request."""


class WrongSurveyState(Exception):
    """The action does not fit the survey's state (publishing a closed survey, editing a published one)."""
