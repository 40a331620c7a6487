"""The words and sizes of a questionnaire definition: talking.text's rule for each field, and how many.

Part of services.survey_problems, so the API and the staff pages refuse the same definitions; the
limits are generous for a survey a resident finishes in a few minutes, and keep one request from
storing a questionnaire nobody could answer (a question with 10,000 options).
"""

from __future__ import annotations

from talking.errors import FieldError
from talking.questionnaires.schemas import CustomIssue, SurveyCreate
from talking.text import text_problem

MAX_TITLE_CHARS = 200
MAX_INTRODUCTION_CHARS = 5_000
MAX_LABEL_CHARS = 200  # a custom issue's label, a question's option
MAX_PROMPT_CHARS = 300
MAX_HINT_CHARS = 1_000
MAX_ISSUES = 40  # the taxonomy has 26; room for a survey's own
MAX_QUESTIONS = 20
MAX_OPTIONS = 30
MAX_DISTRICTS = 14  # Lancashire's districts, each at most once


def count_problems(data: SurveyCreate) -> list[FieldError]:
    """Too many issues, questions, options or districts."""
    errors = []
    if len(data.issues) > MAX_ISSUES:
        errors.append(FieldError("issues", f"Offer no more than {MAX_ISSUES} issues"))
    if len(data.questions) > MAX_QUESTIONS:
        errors.append(FieldError("questions", f"Ask no more than {MAX_QUESTIONS} extra questions"))
    for n, question in enumerate(data.questions):
        if len(question.options) > MAX_OPTIONS:
            errors.append(FieldError(f"questions[{n}].options", f"Give no more than {MAX_OPTIONS} options"))
    if data.districts is not None and len(data.districts) > MAX_DISTRICTS:
        errors.append(FieldError("districts", f"Select no more than {MAX_DISTRICTS} districts, each once"))
    return errors


def wording_problems(data: SurveyCreate) -> list[FieldError]:
    """Every text field of the definition held to talking.text's rule."""
    checks: list[tuple[str, str | None]] = [
        ("title", text_problem(data.title, label="The title", max_chars=MAX_TITLE_CHARS, required=True)),
        (
            "introduction",
            text_problem(data.introduction, label="The introduction", max_chars=MAX_INTRODUCTION_CHARS, multiline=True),
        ),
    ]
    for position, item in enumerate(data.issues):
        if isinstance(item, CustomIssue):
            label = text_problem(item.label, label="The issue's words", max_chars=MAX_LABEL_CHARS, required=True)
            checks.append((f"issues[{position}].label", label))
    for n, question in enumerate(data.questions):
        field = f"questions[{n}]"
        checks.append(
            (
                f"{field}.prompt",
                text_problem(question.prompt, label="The question", max_chars=MAX_PROMPT_CHARS, required=True),
            )
        )
        checks.append(
            (
                f"{field}.hint",
                text_problem(question.hint, label="The hint", max_chars=MAX_HINT_CHARS, multiline=True),
            )
        )
        for k, option in enumerate(question.options[:MAX_OPTIONS]):
            problem = text_problem(option, label="Each option", max_chars=MAX_LABEL_CHARS, required=True)
            checks.append((f"{field}.options[{k}]", problem))
    return [FieldError(field, problem) for field, problem in checks if problem is not None]
