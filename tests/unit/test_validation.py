"""The rules for a resident's answers, shared by the API and the pages."""

from __future__ import annotations

from talking.reference import AGE_BANDS, SEXES, districts, issues
from talking.surveys.schemas import ResponseCreate, Survey, SurveyIssue
from talking.surveys.validation import clean_comment, response_errors

SURVEY = Survey(
    id=1,
    title="t",
    introduction="",
    max_picks=3,
    status="open",
    issues=tuple(SurveyIssue(code, code.title()) for code in ("a", "b", "c", "d")),
)
PRESTON = "E07000123"


def fields(response: ResponseCreate) -> list[str]:
    return [e.field for e in response_errors(SURVEY, response)]


def test_a_good_response_has_no_errors() -> None:
    assert fields(ResponseCreate(district=PRESTON, picks=["a", "c"], comment="ok", age_band="16-24", sex="male")) == []


def test_each_rule() -> None:
    assert fields(ResponseCreate(district="nowhere", picks=["a"])) == ["district"]
    assert fields(ResponseCreate(district=PRESTON, picks=[])) == ["picks"]
    assert fields(ResponseCreate(district=PRESTON, picks=["a", "b", "c", "d"])) == ["picks"]
    assert fields(ResponseCreate(district=PRESTON, picks=["a", "a"])) == ["picks[1]"]
    assert fields(ResponseCreate(district=PRESTON, picks=["z"])) == ["picks[0]"]
    assert fields(ResponseCreate(district=PRESTON, picks=["a"], comment="\x00")) == ["comment"]
    assert fields(ResponseCreate(district=PRESTON, picks=["a"], comment="é" * 2001)) == ["comment"]
    assert fields(ResponseCreate(district=PRESTON, picks=["a"], age_band="99")) == ["age_band"]
    assert fields(ResponseCreate(district=PRESTON, picks=["a"], sex="x")) == ["sex"]


def test_comment_length_counts_characters_after_trimming() -> None:
    assert fields(ResponseCreate(district=PRESTON, picks=["a"], comment="  " + "é" * 2000 + "\n\n")) == []
    assert clean_comment("  line one\r\nline two  ") == "line one\nline two"
    assert clean_comment("   ") is None


def test_reference_data() -> None:
    assert len(districts()) == 14
    codes = [i.code for i in issues()]
    assert len(codes) == len(set(codes))
    assert all(code == code.lower() and " " not in code for code in codes)
    assert "prefer-not-to-say" in {c.code for c in AGE_BANDS} & {c.code for c in SEXES}
