"""Random tokens (CSP nonces, web submissions' idempotency keys) drawn from a pool of OS randomness."""

from __future__ import annotations

import multiprocessing
import re
import secrets
import threading

from talking.security import new_csp_nonce, random_token


def test_tokens_look_like_secrets_token_urlsafe() -> None:
    for n_bytes in (1, 16, 18, 32, 5000):  # 5000: more than the pool holds at once
        token = random_token(n_bytes)
        assert len(token) == len(secrets.token_urlsafe(n_bytes))
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)


def test_no_two_nonces_are_alike_across_many_refills() -> None:
    nonces = [new_csp_nonce() for _ in range(20_000)]  # about eighty pools' worth
    assert len(set(nonces)) == len(nonces)


def test_threads_never_take_the_same_bytes() -> None:
    taken: list[list[str]] = [[] for _ in range(4)]

    def draw(into: list[str]) -> None:
        into.extend(random_token(16) for _ in range(5_000))

    threads = [threading.Thread(target=draw, args=(into,)) for into in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [token for into in taken for token in into]
    assert len(set(every)) == len(every) == 20_000


def _draw_in_child(connection: multiprocessing.connection.Connection) -> None:
    connection.send([new_csp_nonce() for _ in range(10)])


def test_a_forked_worker_does_not_repeat_its_parents_nonces() -> None:
    new_csp_nonce()  # the parent holds a pool with bytes left in it
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    child = context.Process(target=_draw_in_child, args=(theirs,))
    child.start()
    theirs.close()  # ours alone now: recv sees the end if the child dies without sending
    assert ours.poll(10)
    childs = ours.recv()
    child.join(10)
    assert child.exitcode == 0
    parents = [new_csp_nonce() for _ in range(10)]
    assert not set(childs) & set(parents)
