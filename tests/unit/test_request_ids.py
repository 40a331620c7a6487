"""Request ids (talking.logs): a caller's sound id kept, else a new one unique across workers."""

from __future__ import annotations

import multiprocessing
import re

from talking.logs import request_id_from

SOUND = re.compile(r"[A-Za-z0-9._-]{1,64}")  # what the logs accept from a caller, and what we make


def test_new_ids_are_unique_and_plain() -> None:
    ids = [request_id_from([]) for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    assert all(SOUND.fullmatch(request_id) for request_id in ids)


def test_a_sound_caller_id_is_kept_and_anything_else_replaced() -> None:
    assert request_id_from([(b"x-request-id", b"proxy-id.42")]) == "proxy-id.42"
    for unsound in (b"", b"not ok", b"a" * 65, "caf\u00e9".encode()):
        made = request_id_from([(b"x-request-id", unsound)])
        assert made != unsound.decode("utf-8", "replace") and SOUND.fullmatch(made)


def _ids_in_child(connection: multiprocessing.connection.Connection) -> None:
    connection.send([request_id_from([]) for _ in range(100)])


def test_a_forked_worker_makes_ids_of_its_own() -> None:
    request_id_from([])  # the parent has made ids already
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    child = context.Process(target=_ids_in_child, args=(theirs,))
    child.start()
    theirs.close()
    assert ours.poll(10)
    childs = ours.recv()
    child.join(10)
    assert child.exitcode == 0
    parents = [request_id_from([]) for _ in range(100)]
    assert not set(childs) & set(parents)
