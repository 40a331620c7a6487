"""`talking serve` and its workers: a worker dies with its main process, and a second server on a port
already served refuses to start (granian's SO_REUSEPORT would otherwise let it start beside the first)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from talking.testing.server import free_port

from ..conftest import live_server

GONE_WITHIN_SECONDS = 10


def children_of(pid: int) -> list[int]:
    """The process ids whose parent is ``pid`` (granian's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is alive (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def listening(port: int) -> bool:
    """Whether anything accepts connections on the port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_workers_die_with_a_killed_main_process(sqlite_url: str, tmp_path: Path) -> None:
    with live_server(sqlite_url, tmp_path, workers=2) as server:
        workers = children_of(server.process.pid)
        assert len(workers) >= 2, workers
        os.kill(server.process.pid, signal.SIGKILL)  # the main process alone, as `kill -9 PID` does
        server.process.wait()
        deadline = time.monotonic() + GONE_WITHIN_SECONDS
        # The kernel may close a killed worker's listening socket a moment after the process is gone.
        while (any(running(pid) for pid in workers) or listening(server.port)) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if running(pid)]
        assert not left, f"workers {left} outlived their main process"
        assert not listening(server.port), "the port is still served"


@pytest.mark.parametrize("after_seconds", [0.0, 0.3, 1.0])
def test_workers_die_with_a_main_process_killed_while_they_load(
    sqlite_url: str, tmp_path: Path, after_seconds: float
) -> None:
    """Killed while its workers are still loading the app: none may be left serving."""
    port = free_port()
    env = {**os.environ, "TALKING_DATABASE_URL": sqlite_url, "TALKING_SECRET_KEY": "loading-" + "k" * 32}
    command = [sys.executable, "-m", "talking", "serve", "--port", str(port), "--workers", "2"]
    main = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while len(workers := children_of(main.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(workers) == 2
        time.sleep(after_seconds)
        os.kill(main.pid, signal.SIGKILL)
        main.wait()
        deadline = time.monotonic() + GONE_WITHIN_SECONDS
        while any(running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if running(pid)], "a worker outlived its main process"
        assert not listening(port)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(main.pid, signal.SIGKILL)  # orphans keep the process group: none is left behind


def test_a_second_server_on_a_served_port_refuses_to_start(sqlite_url: str, tmp_path: Path) -> None:
    with live_server(sqlite_url, tmp_path) as server:
        env = {**os.environ, "TALKING_DATABASE_URL": sqlite_url, "TALKING_SECRET_KEY": "second-server"}
        command = [sys.executable, "-m", "talking", "serve", "--host", server.host, "--port", str(server.port)]
        second = subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            output, _ = second.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(second.pid, signal.SIGKILL)
            output, _ = second.communicate()
            raise AssertionError(f"a second server started on a served port:\n{output.decode()}") from None
        assert second.returncode != 0
        assert f"port {server.port} on {server.host} is already in use" in output.decode()
        assert server.healthy()  # the first one serves on


def test_a_killed_worker_is_replaced(sqlite_url: str, tmp_path: Path) -> None:
    """A worker killed (as the out-of-memory killer would) comes back; the server serves on."""
    with live_server(sqlite_url, tmp_path, workers=2) as server:
        first, second = children_of(server.process.pid)[:2]
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workers = [pid for pid in children_of(server.process.pid) if running(pid)]
            if len(workers) == 2 and first not in workers:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"no new worker came:\n{server.log(tail=20)}")
        assert second in workers  # the other worker was left alone
        while not server.healthy() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.healthy()
        assert server.process.poll() is None
