"""A real `talking serve` in a process group of its own, on a free port, for as long as a block runs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STARTUP_SECONDS = 60  # a cold start on a loaded 2-core machine takes a few seconds; 60 means it is stuck
STOP_SECONDS = 15


# The live server's secret key: what invitation tokens to its database are derived with (talking.invitation_tokens).
LIVE_SERVER_SECRET_KEY = "live-server-secret-key"  # noqa: S105 (a test server's, never a real one's)


def free_port() -> int:
    """A TCP port nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    """A `talking serve` process and where to reach it."""

    url: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self, tail: int | None = None) -> str:
        """What the server printed so far (its last ``tail`` lines only, if given)."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-tail:] if tail else lines)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the server and its worker processes together (granian runs workers as children)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def get_json(self, path: str) -> object:
        """GET a JSON document from the server."""
        with urllib.request.urlopen(self.url + path, timeout=10) as response:  # noqa: S310 (our own http URL)
            return json.load(response)

    def healthy(self) -> bool:
        """Whether /healthz answers 200 right now."""
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False


@contextmanager
def live_server(
    database_url: str, workdir: Path, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """Run `python -m talking serve` on a free port until the block ends.

    The server runs in ``workdir`` (so nothing lands in the project's var/) and logs to
    ``workdir/server-PORT.log``. Afterwards it is stopped with SIGTERM, then SIGKILL if it will not
    stop; its whole process group is signalled, so no worker is left behind even when a test killed
    the main process first. Rate limits are off unless ``extra_env`` turns them on.
    """
    host, port = "127.0.0.1", free_port()
    env = {
        **{name: value for name, value in os.environ.items() if name != "TALKING_DEBUG"},
        "TALKING_DATABASE_URL": database_url,
        "TALKING_SECRET_KEY": LIVE_SERVER_SECRET_KEY,
        "TALKING_HOST": host,
        "TALKING_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
        # Load from one address (tests, benchmarks) would meet the rate limits: on only when asked
        # for, with extra_env={"TALKING_RATE_LIMITS": "on", ...}.
        "TALKING_RATE_LIMITS": "off",
        **(extra_env or {}),
    }
    command = [sys.executable, "-m", "talking", "serve", "--host", host, "--port", str(port), "--workers", str(workers)]
    log_path = workdir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own command line)
            command,
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops its workers too
        )
    server = LiveServer(f"http://{host}:{port}", host, port, process, log_path)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        _stop(server)


def _wait_until_healthy(server: LiveServer) -> None:
    """Return once /healthz answers 200; raise if the server exits or takes too long."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.healthy():
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}:\n{server.log(tail=40)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer /healthz within {STARTUP_SECONDS} s:\n{server.log(tail=40)}")
        time.sleep(0.1)


def _stop(server: LiveServer) -> None:
    """SIGTERM to the group, SIGKILL if it is still there after STOP_SECONDS, and a last SIGKILL for
    workers that outlived a main process killed before them."""
    server.kill(signal.SIGTERM)
    try:
        server.process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill(signal.SIGKILL)
        server.process.wait()
    server.kill(signal.SIGKILL)
