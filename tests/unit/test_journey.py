"""The resident's way through a survey, without HTTP: page order, detours, ordering picks."""

from __future__ import annotations

from talking.surveys.journey import Progress, order_from_positions
from talking.surveys.schemas import QuestionOption, Survey, SurveyIssue, SurveyQuestion

SURVEY = Survey(
    id=1,
    title="Test",
    introduction="",
    max_picks=3,
    status="open",
    issues=(SurveyIssue("a", "Issue A"), SurveyIssue("b", "Issue B"), SurveyIssue("c", "Issue C")),
    questions=(SurveyQuestion("q1", "single_choice", "Q1?", options=(QuestionOption("y", "Yes"),)),),
)
LABELS = {"a": "Issue A", "b": "Issue B", "c": "Issue C"}


def test_pages_skip_ordering_one_pick_and_about_you_when_not_asked() -> None:
    progress = Progress(district="E07000123", picks=["a", "b"])
    assert progress.pages(SURVEY) == ["district", "issues", "order", "question:q1", "comment", "about-you", "check"]
    progress.choose(["b"])
    assert progress.ordered
    assert "order" not in progress.pages(SURVEY)
    no_about_you = Survey(**{**{f: getattr(SURVEY, f) for f in SURVEY.__struct_fields__}, "ask_about_you": False})
    assert "about-you" not in progress.pages(no_about_you)


def test_first_unanswered_and_may_visit() -> None:
    progress = Progress()
    assert progress.first_unanswered(SURVEY) == "district"
    assert progress.may_visit(SURVEY, "district") and not progress.may_visit(SURVEY, "issues")
    progress.district = "E07000123"
    progress.choose(["a", "c"])
    assert progress.first_unanswered(SURVEY) == "order"
    progress.ordered = True
    assert progress.first_unanswered(SURVEY) == "question:q1"
    progress.answer("q1", None)  # an optional question left blank still counts as answered
    progress.comment_done = progress.about_you_done = True
    assert progress.first_unanswered(SURVEY) == "check"
    assert progress.may_visit(SURVEY, "check") and not progress.may_visit(SURVEY, "question:nope")


def test_new_picks_keep_the_old_order_and_must_be_ordered_again() -> None:
    progress = Progress(picks=["c", "a"], ordered=True)
    progress.choose(["a", "c"])
    assert (progress.picks, progress.ordered) == (["c", "a"], True)
    progress.choose(["a", "b", "c"])
    assert (progress.picks, progress.ordered) == (["c", "a", "b"], False)


def test_order_from_positions() -> None:
    assert order_from_positions(["a", "b", "c"], {"a": "2", "b": "3", "c": "1"}, LABELS.__getitem__) == (
        ["c", "a", "b"],
        {},
    )
    ordered, errors = order_from_positions(["a", "b", "c"], {"a": "1", "b": "1", "c": "4"}, LABELS.__getitem__)
    assert ordered == []
    assert errors == {
        "a": "Give Issue A a different number from Issue B",
        "b": "Give Issue B a different number from Issue A",
        "c": "Select a number for Issue C",
    }


def test_progress_survives_the_session_and_bad_data() -> None:
    progress = Progress(district="E07000123", picks=["a"], answers={"q1": "y"})
    assert Progress.from_session(progress.to_session()) == progress
    assert Progress.from_session({"picks": "not a list"}).picks == []
    assert Progress.from_session(None).district is None
