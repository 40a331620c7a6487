"""GOV.UK macros remember their HTML by their arguments: the pages must come out exactly as without it."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import Environment
from markupsafe import Markup

from talking.surveys.journey import Progress
from talking.surveys.page_contexts import page_context, template_of
from talking.surveys.schemas import QuestionOption, Survey, SurveyIssue, SurveyQuestion
from talking.templating import HtmlCache, jinja_environment

SURVEY = Survey(
    id=7,
    title="Safer streets",
    introduction="Tell us what matters.",
    max_picks=3,
    status="open",
    issues=(
        SurveyIssue("road-safety", "Road safety"),
        SurveyIssue("burglary", "Burglary"),
        SurveyIssue("fraud", "Fraud & scams <online>"),
        SurveyIssue("our-own", "An issue of our own"),
    ),
    districts=("E07000118", "E07000123"),
    questions=(
        SurveyQuestion(
            "q1", "single_choice", "How often?", options=(QuestionOption("often", "Often"), QuestionOption("no", "No"))
        ),
        SurveyQuestion("q2", "multiple_choice", "Where?", options=(QuestionOption("a", "A"), QuestionOption("b", "B"))),
    ),
)
CSRF = Markup('<input type="hidden" name="_csrf_token" value="token">')


def contexts() -> list[tuple[str, dict[str, Any]]]:
    """Every journey page in several states: nothing answered, answered, and refused with errors."""
    blank = Progress()
    answered = Progress(
        district="E07000123",
        picks=["fraud", "burglary"],
        ordered=True,
        answers={"q1": "often", "q2": ["a", "b"]},
        questions_done=["q1", "q2"],
        comment="Cars <speed> & race\nat night",
        comment_done=True,
        age_band="35-44",
        sex="female",
        about_you_done=True,
    )
    found = []
    for progress in (blank, answered):
        for page in ("district", "issues", "question:q1", "question:q2", "comment", "about-you"):
            found.append((page, page_context(SURVEY, progress, page) | {"progress": progress}))
        if progress.picks:
            found.append(("order", page_context(SURVEY, progress, "order") | {"progress": progress}))
            found.append(("check", page_context(SURVEY, progress, "check") | {"progress": progress}))
    errors = [
        ("district", {"district": "Select the area where you live"}, {"selected": "E07000118"}),
        ("issues", {"picks": "Select no more than 3 issues"}, {"selected": ["fraud", "burglary", "road-safety"]}),
        ("order", {"position-fraud": "Give Fraud a different number"}, {"positions": {"fraud": "1", "burglary": "1"}}),
        ("comment", {"comment": "Your comment must be 2,000 characters or fewer"}, {"comment": "x" * 20}),
        ("about-you", {"age_band": "Select your age"}, {"age_band": None, "sex": "male"}),
    ]
    for page, messages, shown in errors:
        context = page_context(SURVEY, answered, page) | {"progress": answered, "errors": messages} | shown
        found.append((page, context))
    return found


def render(environment: Environment, page: str, context: dict[str, Any]) -> str:
    base = {
        "survey": SURVEY,
        "errors": {},
        "back_url": "/surveys/7",
        "form_action": f"/surveys/7/{page}",
        "csrf_input": CSRF,
        "csp_nonce": "nonce",
        "request": None,
    }
    return environment.get_template(template_of(page)).render(base | context)


def test_every_page_is_byte_identical_with_and_without_remembering() -> None:
    plain = jinja_environment()
    plain.macro_cache = None  # type: ignore[attr-defined]
    remembering = jinja_environment()
    cache: HtmlCache = remembering.macro_cache  # type: ignore[attr-defined]
    for _round in range(2):  # the second round is served from what the first remembered
        for page, context in contexts():
            assert render(remembering, page, context) == render(plain, page, context), page
    assert cache.hits > cache.misses > 0


def test_a_new_answer_or_error_is_a_new_key_not_a_stale_page() -> None:
    environment = jinja_environment()
    context = page_context(SURVEY, Progress(), "district")
    assert " checked>" not in render(environment, "district", context)
    chosen = render(environment, "district", context | {"selected": "E07000123"})
    assert 'value="E07000123" checked>' in chosen
    assert " checked>" not in render(environment, "district", context)  # the blank page stays blank
    refused = render(environment, "district", context | {"errors": {"district": "Select the area where you live"}})
    assert "govuk-form-group--error" in refused and "Select the area where you live" in refused
    assert "govuk-form-group--error" not in render(environment, "district", context)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"text": "<b>bold</b>"}, {"text": Markup("<b>bold</b>")}),  # equal strings, escaped or not
        ({"text": 1}, {"text": 1.0}),  # equal and equally hashed; "1" and "1.0"
        ({"text": 1}, {"text": True}),  # equal and equally hashed in Python
        ({"text": "Go", "preventDoubleClick": 1}, {"text": "Go", "preventDoubleClick": True}),
        ({"text": "a", "attributes": {"id": "x"}}, {"text": "a", "attributes": [("id", "x")]}),
    ],
)
def test_arguments_that_python_thinks_equal_but_render_differently_are_kept_apart(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    plain = jinja_environment()
    plain.macro_cache = None  # type: ignore[attr-defined]
    remembering = jinja_environment()
    source = (
        '{% from "govuk_frontend_jinja/components/button/macro.html" import govukButton %}{{ govukButton(params) }}'
    )

    def plain_render(params: dict[str, Any]) -> str:
        return plain.from_string(source).render(params=params)

    assert plain_render(first) != plain_render(second)  # the premise: they do render differently
    for params in (first, second, first, second):
        assert remembering.from_string(source).render(params=params) == plain_render(params)


def test_call_blocks_and_unkeyable_arguments_are_rendered_every_time() -> None:
    environment = jinja_environment()
    source = (
        '{% from "govuk_frontend_jinja/components/fieldset/macro.html" import govukFieldset %}'
        '{% call govukFieldset({"legend": {"text": "Legend"}}) %}{{ inside }}{% endcall %}'
    )
    assert "first" in environment.from_string(source).render(inside="first")
    assert "second" in environment.from_string(source).render(inside="second")

    class Label:  # not plain data: it could render differently each time
        def __str__(self) -> str:
            return "changing"

    button = (
        '{% from "govuk_frontend_jinja/components/button/macro.html" import govukButton %}'
        '{{ govukButton({"text": label}) }}'
    )
    before = len(environment.macro_cache)  # type: ignore[attr-defined]
    assert "changing" in environment.from_string(button).render(label=Label())
    assert len(environment.macro_cache) == before  # type: ignore[attr-defined]


def test_the_cache_is_bounded_and_drops_the_least_recently_used() -> None:
    cache = HtmlCache(max_entries=2, max_chars=1_000)
    cache.put(("a",), "A")
    cache.put(("b",), "B")
    assert cache.get(("a",)) == "A"  # now b is the least recently used
    cache.put(("c",), "C")
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) == "A" and cache.get(("c",)) == "C"
    cache.put(("big",), "x" * 100)  # more than a 64th of the room: not worth keeping
    assert cache.get(("big",)) is None
    assert len(cache) == 2
