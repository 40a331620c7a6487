"""PostgreSQL and Redis servers of a test's own, to stop and start at will (outage tests).

The machine's shared servers serve every other test and engineer: an outage test must never stop
them. These start a private server from the installed binaries in a temporary directory, on a free
port, and stop it when the block ends. ``PrivateServerMissing`` says the binaries are not installed
(tests skip on it outside CI).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from talking.testing.server import free_port

START_SECONDS = 30


class PrivateServerMissing(RuntimeError):
    """The binaries to start a private server are not installed here."""


def _postgres_bin() -> Path:
    """The directory holding initdb and pg_ctl (Debian keeps them per version)."""
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(found) / "initdb").exists():
            return Path(found)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PrivateServerMissing("PostgreSQL's initdb and pg_ctl are not installed")


def _as_owner(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _wait_for_port(port: int, seconds: float = START_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory; ``stop``/``start`` make an outage."""

    bin_dir: Path
    data_dir: Path
    port: int

    @property
    def admin_url(self) -> str:
        """libpq URL of its maintenance database (trust auth, user postgres)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(  # noqa: S603 (our own command line)
            _as_owner([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-w", "-s", *args]),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-l", str(self.data_dir / "server.log"), "start")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: as abruptly as a crash, without waiting for clients)."""
        self._pg_ctl("-m", mode, "stop")

    def terminate_backends(self, database: str) -> int:
        """End every session on ``database`` as an administrator (or a failover) would; how many."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchone()
        return int(row[0]) if row else 0


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A fresh PostgreSQL cluster on a free port, removed when the block ends."""
    bin_dir = _postgres_bin()
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        raise PrivateServerMissing("running as root needs runuser to start PostgreSQL as postgres")
    data_dir = Path(tempfile.mkdtemp(prefix="talking-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
    server = PrivatePostgres(bin_dir, data_dir, free_port())
    try:
        subprocess.run(  # noqa: S603
            _as_owner([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "-A", "trust", "--no-sync"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@dataclass
class PrivateRedis:
    """A redis-server without persistence on a free port; ``stop``/``start`` make an outage."""

    binary: str
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its redis:// URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self.process = subprocess.Popen(  # noqa: S603
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port)

    def stop(self) -> None:
        """Kill the server (as a crash would) and wait for it to go."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of this block's own."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise PrivateServerMissing("redis-server is not installed")
    server = PrivateRedis(binary, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
