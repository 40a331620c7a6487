"""The write stamps shared by every worker (talking.sessions.stamps), on a real file and real processes."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
from pathlib import Path

import pytest

from talking.db.engine import is_sqlite_busy
from talking.sessions import sessions_path, stamps_path
from talking.sessions.stamps import SLOTS, SessionStamps, StampsBusy


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "talking.sessions.db-stamps"


def test_a_new_table_is_sized_and_every_stamp_starts_at_zero(path: Path) -> None:
    stamps = SessionStamps(path)
    assert path.stat().st_size == SLOTS * 8
    assert stamps.stamp("a") == stamps.stamp("b") == 0
    stamps.close()


def test_a_write_moves_its_keys_stamp_on_and_another_view_sees_it(path: Path) -> None:
    worker_a, worker_b = SessionStamps(path), SessionStamps(path)  # two mappings of one file
    written: list[str] = []
    stamp = worker_a.write("key", lambda: written.append("key"))
    assert written == ["key"]
    assert stamp == worker_a.stamp("key") == worker_b.stamp("key") == 1
    assert worker_b.write("key", lambda: None) == 2
    assert worker_a.stamp("key") == 2
    worker_a.close()
    worker_b.close()


def test_slots_are_the_same_in_every_process() -> None:
    """Python's own str hash differs between processes; the slot must not."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        assert pool.apply(SessionStamps.slot, ("a session id",)) == SessionStamps.slot("a session id")
    assert 0 <= SessionStamps.slot("a session id") < SLOTS


def test_a_failed_write_still_moves_the_stamp_on(path: Path) -> None:
    stamps = SessionStamps(path)

    def fail() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        stamps.write("key", fail)
    assert stamps.stamp("key") == 1  # what was remembered before is no longer trusted
    assert stamps.write("key", lambda: None) == 2  # and the lock was let go
    stamps.close()


def test_writing_every_key_moves_every_stamp_on(path: Path) -> None:
    stamps = SessionStamps(path)
    stamps.write("one", lambda: None)
    stamps.write(None, lambda: None)
    assert stamps.stamp("one") == 2
    assert stamps.stamp("two") == 1
    stamps.close()


def test_a_write_while_another_worker_writes_is_busy_not_blocked(path: Path) -> None:
    stamps = SessionStamps(path)
    other = os.open(path, os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)  # another worker in the middle of a write
    try:
        written: list[str] = []
        with pytest.raises(StampsBusy) as busy:
            stamps.write("key", lambda: written.append("key"))
        assert written == []  # nothing was written
        assert is_sqlite_busy(busy.value)  # so the session store waits and tries again
        assert stamps.stamp("key") == 0
    finally:
        os.close(other)  # closing its descriptor lets go of its lock
    assert stamps.write("key", lambda: None) == 1
    stamps.close()


def _write_in_child(path: Path) -> None:
    SessionStamps(path).write("key", lambda: None)


def test_another_process_writing_moves_this_processs_view_on(path: Path) -> None:
    stamps = SessionStamps(path)
    child = multiprocessing.get_context("spawn").Process(target=_write_in_child, args=(path,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert stamps.stamp("key") == 1
    stamps.close()


@pytest.mark.parametrize("database", ["var/talking.db", "var/talking", "var/answers.stamps", "var/x.sessions.db"])
def test_the_stamps_file_is_never_the_database_or_the_sessions_file(database: str) -> None:
    sessions = sessions_path(database)
    assert len({Path(database), sessions, stamps_path(sessions)}) == 3


def test_the_stamps_file_is_named_as_sqlite_names_a_files_companions() -> None:
    assert stamps_path(Path("var/talking.sessions.db")) == Path("var/talking.sessions.db-stamps")
