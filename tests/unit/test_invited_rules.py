"""The invited journey's rules that need no database: its pages, the answers' fingerprint, the log's paths."""

from __future__ import annotations

import hashlib

from talking.logs import loggable_path
from talking.surveys.batches import request_digest
from talking.surveys.journey import Progress
from talking.surveys.schemas import ResponseCreate, Survey, SurveyIssue

SURVEY = Survey(
    id=1,
    title="Test",
    introduction="",
    max_picks=3,
    status="open",
    issues=(SurveyIssue("a", "A"), SurveyIssue("b", "B")),
    audience="members",
)


def test_an_invited_journey_skips_what_the_membership_answered() -> None:
    assert Progress().pages(SURVEY)[:2] == ["district", "issues"]
    invited = Progress(invitation="ab" * 32, known=["district", "about-you"], district="E07000123")
    assert invited.pages(SURVEY) == ["issues", "order", "comment", "check"]
    assert invited.first_unanswered(SURVEY) == "issues"
    assert not invited.may_visit(SURVEY, "district")
    assert invited.invitation_hash() == bytes.fromhex("ab" * 32)
    assert Progress(invitation="not hex").invitation_hash() is None
    assert Progress().invitation_hash() is None


def test_answers_without_an_invitation_keep_the_fingerprint_they_had_before_it_existed() -> None:
    # A retry across the upgrade must still be recognised as a retry of the same answers.
    before = b'{"district":"E07000123","picks":["a"],"comment":null,"age_band":null,"sex":null,"answers":{}}'
    assert request_digest(ResponseCreate(district="E07000123", picks=["a"])) == hashlib.sha256(before).digest()
    invited = ResponseCreate(district="E07000123", picks=["a"], invitation="t" * 43)
    assert request_digest(invited) != hashlib.sha256(before).digest()


def test_the_access_log_writes_invitation_paths_without_their_token() -> None:
    token = "Zk3" + "x" * 40
    assert loggable_path(f"/i/{token}") == "/i/{token}"
    assert loggable_path(f"/i/{token}/details") == "/i/{token}/details"
    assert loggable_path("/surveys/1/issues") == "/surveys/1/issues"
    assert loggable_path("/index/i/x") == "/index/i/x"
