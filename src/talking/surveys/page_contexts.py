"""What each resident page's template shows of the answers kept so far: shared by the resident pages and
the staff preview (which shows the same pages), so neither borrows the other's page code."""

from __future__ import annotations

from typing import Any

from litestar.exceptions import NotFoundException

from talking.reference import AGE_BANDS, SEXES, districts, districts_by_code, issues_by_code
from talking.surveys.journey import QUESTION, Progress
from talking.surveys.page_support import shown_answer
from talking.surveys.schemas import Survey, SurveyQuestion


def template_of(page: str) -> str:
    """The template that shows a journey page."""
    return f"surveys/{'question' if page.startswith(QUESTION) else page.replace('-', '_')}.html"


def start_context(survey: Survey, *, started: bool, answered_before: bool = False) -> dict[str, Any]:
    """The start page's context: areas are named only when the survey covers some, not all of Lancashire."""
    areas = [d.name for d in districts() if d.code in survey.districts] if survey.districts else []
    return {"survey": survey, "started": started, "areas": areas, "answered_before": answered_before}


def page_context(survey: Survey, progress: Progress, page: str) -> dict[str, Any]:
    """What a journey page's template shows of the answers kept so far, as its GET shows them."""
    if page == "district":
        covered = [district for district in districts() if survey.covers(district.code)]
        return {"districts": covered, "selected": progress.district}
    if page == "issues":
        return {"selected": progress.picks, "taxonomy": issues_by_code()}
    if page == "order":
        positions = {code: str(n) for n, code in enumerate(progress.picks, start=1)} if progress.ordered else {}
        return {"picks": progress.picks, "positions": positions}
    if page.startswith(QUESTION):
        key = page.removeprefix(QUESTION)
        return {"question": question_of(survey, key), "value": progress.answers.get(key)}
    if page == "comment":
        return {"comment": progress.comment}
    if page == "about-you":
        return {"age_bands": AGE_BANDS, "sexes": SEXES, "age_band": progress.age_band, "sex": progress.sex}
    if page == "check":
        district = districts_by_code().get(progress.district or "")
        return {
            "district_name": district.name if district else progress.district,
            "pick_labels": [survey.label_of(code) for code in progress.picks],
            "age_band_label": next((c.label for c in AGE_BANDS if c.code == progress.age_band), None),
            "sex_label": next((c.label for c in SEXES if c.code == progress.sex), None),
            "comment": progress.comment,
            "known": progress.known,  # pages the membership answered: no Change link for them
            "question_rows": [
                (question, shown_answer(question, progress.answers.get(question.key))) for question in survey.questions
            ],
        }
    raise NotFoundException()


def question_of(survey: Survey, key: str) -> SurveyQuestion:
    """The survey's extra question with this key; an unknown one is not found."""
    question = survey.question(key)
    if question is None:
        raise NotFoundException()
    return question
