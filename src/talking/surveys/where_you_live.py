"""The open survey's "where you live" answer: the shared question (talking.web.where_you_live) with the
survey's own rule, that it must cover the area."""

from __future__ import annotations

from talking.surveys.schemas import Survey
from talking.surveys.validation import district_errors
from talking.web.where_you_live import WhereYouLive
from talking.web.where_you_live import where_you_live as _where_you_live


def where_you_live(chosen: str | None, postcode: str | None, survey: Survey) -> WhereYouLive:
    """The district from the page's two ways to answer, or why there is none (the survey must cover it)."""

    def refusal(code: str) -> str | None:
        errors = district_errors(code, survey)
        return errors[0].message if errors else None

    return _where_you_live(chosen, postcode, refusal)
