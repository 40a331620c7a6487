"""Staff actions at the same moment on a real `talking serve` with two workers: each is answered
(none with a 5xx) and every one is recorded, on SQLite and PostgreSQL alike.

SQLite used to answer most of them "database is locked" (500): a request's transaction read, then
tried to write, and SQLite refuses that upgrade at once when another connection is writing. Each
request's transaction now takes the write lock at BEGIN and waits its turn (talking.db.engine).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from talking.testing import staff_storm

from ..conftest import live_server

WRONG_PASSWORDS = 60


def _run(database_url: str, tmp_path: Path, **load: int) -> tuple[staff_storm.Answers, dict[str, int]]:
    cast = asyncio.run(staff_storm.prepare(database_url, **load))
    with live_server(database_url, tmp_path, workers=2) as server:
        answers = asyncio.run(staff_storm.storm(server.url, cast, wrong_passwords=WRONG_PASSWORDS, exports=20))
        log = server.log()
    assert "database is locked" not in log
    return answers, asyncio.run(staff_storm.stored(database_url))


def test_staff_actions_at_once_are_all_answered_and_recorded(each_database_url: str, tmp_path: Path) -> None:
    answers, stored = _run(each_database_url, tmp_path, staff=20, tokens=10, drafts=10, open_surveys=10)
    assert answers.server_errors() == 0, answers.lines()
    assert answers.by_action["sign-in"] == {303: 20}
    # Three guesses are checked, then the rest must wait: every one is refused, none is lost.
    assert answers.by_action["wrong password"] == {422: WRONG_PASSWORDS}
    assert answers.by_action["publish"] == {200: 10}
    assert answers.by_action["close"] == {200: 10}
    assert answers.by_action["export"] == {200: 20}
    assert answers.by_action["token use"] == {200: 10}
    assert stored["sign_in"] == 20
    assert stored["sign_in_failed"] == WRONG_PASSWORDS  # each attempt in the audit log ...
    assert stored["target throttle failures"] == WRONG_PASSWORDS  # ... and counted by the throttle
    assert stored["survey_published"] == 20  # the ten drafts, and the ten set up open
    assert stored["survey_closed"] == 10
    assert stored["responses_exported"] == 20
    assert stored["tokens touched"] == 10
