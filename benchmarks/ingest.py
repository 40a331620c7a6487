"""How many residents' responses per second the JSON API acknowledges, and is every one of them stored?

Starts a real server (`python -m talking serve`) on a fresh database, publishes a survey, and drives
``POST /api/v1/surveys/{id}/responses`` over many keep-alive connections from this process (the
server runs in its own). A 201 counts only once it is acknowledged; afterwards the rows in the
database must be exactly the acknowledged responses, or the script exits 1.

The load generator is deliberately lean (asyncio protocols, pre-encoded requests, a parser that
reads only the status line and Content-Length): on a 2-core machine every cycle it spends is a
cycle the server does not get.

    .venv/bin/python benchmarks/ingest.py                       # SQLite, 1 worker, 64 connections, 10 s
    .venv/bin/python benchmarks/ingest.py --workers 2
    .venv/bin/python benchmarks/ingest.py --database postgres   # a fresh PostgreSQL database, dropped after
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

POSTGRES_ADMIN_URL = os.environ.get("TALKING_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# The issues the benchmark survey offers (eight, as the demo survey does).
SURVEY_ISSUES = (
    "anti-social-behaviour",
    "road-safety",
    "drug-dealing-and-taking",
    "burglary",
    "criminal-damage",
    "alcohol",
    "fraud",
    "violent-crime",
)
COMMENTS = (
    "Speeding on the main road past the school every morning.",
    "Lads on bikes in the park after dark, and litter everywhere.",
    "Please put the street lights back on in our close.",
    "Cars broken into twice this year on our street.",
)
# How many distinct request bodies to pre-encode; the connections cycle through them.
DISTINCT_BODIES = 4096


# --- the machine ---------------------------------------------------------------------------------


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as uptime prints them."""
    return ", ".join(Path("/proc/loadavg").read_text().split()[:3])


def process_tree_cpu_seconds(root_pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its live descendants (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        used[pid] = int(fields[11]) + int(fields[12])
    tree = {root_pid}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(used.get(pid, 0) for pid in tree) / ticks


def free_port() -> int:
    """A TCP port nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a fresh database and a real server -------------------------------------------------------------


@dataclass
class Database:
    """A fresh, migrated database the benchmark may fill and throw away."""

    kind: str
    url: str  # the app's SQLAlchemy URL
    path: Path | None = None  # the SQLite file

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run one read-only query with a plain driver (the server may still be running)."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as conn:  # type: ignore[arg-type]
                return conn.execute(sql, params).fetchall()
        import psycopg

        plain = self.url.replace("postgresql+asyncpg://", "postgresql://")
        with psycopg.connect(plain) as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()  # type: ignore[arg-type]


@contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[Database]:
    """A migrated SQLite file in ``workdir``, or a new PostgreSQL database dropped afterwards."""
    from talking.db import migrate

    if kind == "sqlite":
        path = workdir / "bench.db"
        database = Database(kind, f"sqlite+aiosqlite:///{path}", path)
        migrate.upgrade(database.url)
        yield database
        return

    import psycopg

    name = f"talking_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    database = Database(kind, f"{base}/{name}")
    try:
        migrate.upgrade(database.url)
        yield database
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def publish_survey(database_url: str) -> int:
    """Create and publish a survey open now, offering eight issues with five picks; returns its id."""
    from talking.db.engine import create_engine

    now = datetime.now(UTC)
    fields = {
        "title": "Benchmark survey",
        "introduction": "Tell us what matters where you live.",
        "issues": SURVEY_ISSUES,
        "max_picks": 5,
        "opens_at": now - timedelta(days=1),
        "closes_at": now + timedelta(days=30),
    }

    async def create() -> int:
        engine = create_engine(database_url)
        try:
            try:  # the questionnaire builder's services (create a draft, then publish it)
                from talking.questionnaires.schemas import SurveyCreate
                from talking.questionnaires.services import create_survey, publish
            except ImportError:  # before the builder: surveys are created already open
                from talking.surveys.schemas import SurveyCreate  # type: ignore[no-redef]
                from talking.surveys.services import create_survey  # type: ignore[attr-defined,no-redef]

                return await create_survey(engine, SurveyCreate(**fields, status="open"))  # type: ignore[arg-type]
            async with engine.begin() as conn:
                survey_id = await create_survey(conn, SurveyCreate(**fields))  # type: ignore[arg-type]
                await publish(conn, survey_id)
            return survey_id
        finally:
            await engine.dispose()

    return asyncio.run(create())


@dataclass
class Server:
    """A `talking serve` process and where to reach it."""

    url: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """The last lines the server printed."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])

    def get_json(self, path: str) -> object:
        """GET a JSON document from the server."""
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.load(response)


@contextmanager
def running_server(
    database_url: str,
    workdir: Path,
    workers: int,
    extra_env: dict[str, str] | None = None,
    serve: list[str] | None = None,
) -> Iterator[Server]:
    """Run `python -m talking serve` (or another ``serve`` command) in another process until the block ends."""
    host, port = "127.0.0.1", free_port()
    env = {
        **os.environ,
        "TALKING_DATABASE_URL": database_url,
        "TALKING_SECRET_KEY": "benchmark-secret-key",
        "PYTHONUNBUFFERED": "1",
        "TALKING_PORT": str(port),
        **(extra_env or {}),
    }
    env.pop("TALKING_DEBUG", None)
    log_path = workdir / f"server-{port}.log"
    command = serve or [
        sys.executable,
        "-m",
        "talking",
        "serve",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with log_path.open("wb") as log:
        # cwd: the temp dir, so nothing lands in the project's var/.
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://{host}:{port}", host, port, process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}:\n{server.log()}")
            try:
                with urllib.request.urlopen(server.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer /healthz within 60 s:\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- a lean HTTP/1.1 client ----------------------------------------------------------------------------


class ResponseParser:
    """Splits a byte stream into HTTP/1.1 responses: status, headers we need, body. No more."""

    __slots__ = ("buffer", "on_response")

    def __init__(self, on_response: Callable[[int, bytes, bytes], None]) -> None:
        self.buffer = b""
        self.on_response = on_response  # (status, header block as sent, body)

    def feed(self, data: bytes) -> None:
        """Take bytes from the socket; call on_response for each complete response."""
        buffer = self.buffer + data if self.buffer else data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            lowered = head.lower()
            start = lowered.find(b"\r\ncontent-length:")
            if start >= 0:
                stop = lowered.find(b"\r\n", start + 2)
                length = int(lowered[start + 17 : stop if stop >= 0 else None])
                if len(buffer) < end + 4 + length:
                    break
                body = buffer[end + 4 : end + 4 + length]
                buffer = buffer[end + 4 + length :]
            elif b"\r\ntransfer-encoding: chunked" in lowered:
                parsed = _dechunk(buffer, end + 4)
                if parsed is None:
                    break
                body, consumed = parsed
                buffer = buffer[consumed:]
            else:  # no body (e.g. 204/304)
                body = b""
                buffer = buffer[end + 4 :]
            self.on_response(int(head[9:12]), head, body)
        self.buffer = buffer


def _dechunk(buffer: bytes, offset: int) -> tuple[bytes, int] | None:
    """A chunked body starting at ``offset``: (body, end offset), or None if not all here yet."""
    parts = []
    while True:
        line_end = buffer.find(b"\r\n", offset)
        if line_end < 0:
            return None
        size = int(buffer[offset:line_end].split(b";", 1)[0], 16)
        if len(buffer) < line_end + 2 + size + 2:
            return None
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", line_end)
            if trailer_end < 0:
                return None
            return b"".join(parts), trailer_end + 4
        parts.append(buffer[line_end + 2 : line_end + 2 + size])
        offset = line_end + 2 + size + 2


class Receipt(msgspec.Struct):
    """The part of a 201 the benchmark checks."""

    id: int


@dataclass
class Tally:
    """What the load generator saw."""

    phase: str = "warm-up"  # warm-up -> measure -> drain
    measure_started: float = 0.0
    measure_ended: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, measured window only
    statuses: Counter[int] = field(default_factory=Counter)  # measured window only
    statuses_all: Counter[int] = field(default_factory=Counter)
    acknowledged_ids: list[int] = field(default_factory=list)  # every 201, warm-up included
    acknowledged_picks: int = 0
    connection_errors: int = 0
    unknown_outcomes: int = 0  # requests on connections that died before the response came
    in_flight: int = 0
    # for the per-second progress line
    window_count: int = 0
    window_latencies: list[float] = field(default_factory=list)


_decode_receipt = msgspec.json.Decoder(Receipt).decode


class IngestConnection(asyncio.Protocol):
    """One keep-alive connection sending one request at a time, the next as soon as the last is answered."""

    def __init__(self, bench: IngestLoad) -> None:
        self.bench = bench
        self.parser = ResponseParser(self.on_response)
        self.transport: asyncio.Transport | None = None
        self.sent_at = 0.0
        self.picks = 0
        self.waiting = False
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send_next()

    def send_next(self) -> None:
        """Send the next request, unless the run is over."""
        bench = self.bench
        if bench.tally.phase == "drain" or self.transport is None:
            self.waiting = False
            bench.check_drained()
            return
        request, self.picks = bench.next_request()
        self.waiting = True
        bench.tally.in_flight += 1
        self.sent_at = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)

    def on_response(self, status: int, head: bytes, body: bytes) -> None:
        """Record one response and send the next request."""
        now = time.perf_counter()
        tally = self.bench.tally
        tally.in_flight -= 1
        self.waiting = False
        tally.statuses_all[status] += 1
        if status == 201:
            tally.acknowledged_ids.append(_decode_receipt(body).id)
            tally.acknowledged_picks += self.picks
        if tally.phase == "measure":
            latency = now - self.sent_at
            tally.latencies.append(latency)
            tally.statuses[status] += 1
            tally.window_count += status == 201
            tally.window_latencies.append(latency)
        if b"\r\nconnection: close" in head.lower() and self.transport is not None:
            self.transport.close()
            return
        self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        tally = self.bench.tally
        self.transport = None
        if self.waiting:
            tally.in_flight -= 1
            tally.unknown_outcomes += 1
            self.waiting = False
        if tally.phase != "drain":
            tally.connection_errors += 1
            self.bench.reconnect()
        if not self.closed.done():
            self.closed.set_result(None)
        self.bench.check_drained()


class IngestLoad:
    """Many IngestConnections cycling through pre-encoded requests."""

    def __init__(self, host: str, port: int, requests: list[tuple[bytes, int]], connections: int) -> None:
        self.host, self.port = host, port
        self.requests = requests
        self.connections = connections
        self.tally = Tally()
        self._next = 0
        self._open: list[IngestConnection] = []
        self._drained: asyncio.Future[None] | None = None
        self._reconnecting: set[asyncio.Task[None]] = set()

    def next_request(self) -> tuple[bytes, int]:
        """The next pre-encoded request and how many picks it carries."""
        self._next += 1
        return self.requests[self._next % len(self.requests)]

    async def connect(self) -> None:
        """Open every connection (each starts sending at once)."""
        loop = asyncio.get_running_loop()
        for _ in range(self.connections):
            _transport, protocol = await loop.create_connection(lambda: IngestConnection(self), self.host, self.port)
            self._open.append(protocol)

    def reconnect(self) -> None:
        """Replace a connection the server closed, keeping the concurrency constant."""
        loop = asyncio.get_running_loop()

        async def again() -> None:
            try:
                _transport, protocol = await loop.create_connection(
                    lambda: IngestConnection(self), self.host, self.port
                )
                self._open.append(protocol)
            except OSError:
                self.tally.connection_errors += 1
                await asyncio.sleep(0.1)
                if self.tally.phase != "drain":
                    self.reconnect()

        task = loop.create_task(again())
        self._reconnecting.add(task)
        task.add_done_callback(self._reconnecting.discard)

    def check_drained(self) -> None:
        """Resolve the drain wait once no request is outstanding."""
        if self._drained is not None and not self._drained.done() and self.tally.in_flight <= 0:
            self._drained.set_result(None)

    async def drain(self, within: float) -> None:
        """Stop sending and wait for the answers to requests already sent."""
        self.tally.phase = "drain"
        self._drained = asyncio.get_running_loop().create_future()
        self.check_drained()
        try:
            await asyncio.wait_for(self._drained, within)
        except TimeoutError:
            print(f"  {self.tally.in_flight} requests still unanswered after {within:.0f} s", flush=True)
        for connection in self._open:
            if connection.transport is not None:
                connection.transport.close()
        await asyncio.gather(*(connection.closed for connection in self._open))


def build_requests(
    host: str, port: int, survey_id: int, districts: list[str], issues: list[str], max_picks: int, seed: int
) -> list[tuple[bytes, int]]:
    """Pre-encoded POSTs with realistic, varied answers; each with its number of picks."""
    rng = random.Random(seed)
    head = (
        f"POST /api/v1/surveys/{survey_id}/responses HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\nAccept: application/json\r\nContent-Type: application/json\r\n"
    ).encode()
    requests = []
    for _ in range(DISTINCT_BODIES):
        answer = random_answer(rng, districts, issues, max_picks)
        body = msgspec.json.encode(answer)
        requests.append((head + b"Content-Length: %d\r\n\r\n" % len(body) + body, len(answer["picks"])))
    return requests


AGE_BANDS = ["16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-and-over", "prefer-not-to-say"]
SEXES = ["female", "male", "prefer-not-to-say"]


def random_answer(rng: random.Random, districts: list[str], issues: list[str], max_picks: int) -> dict[str, Any]:
    """One resident's answer as the API takes it: 1-5 picks, a comment from 3 in 10, about-you from 7 in 10."""
    answer: dict[str, Any] = {
        "district": rng.choice(districts),
        "picks": rng.sample(issues, rng.randint(1, min(5, max_picks))),
    }
    if rng.random() < 0.3:
        answer["comment"] = rng.choice(COMMENTS)
    if rng.random() < 0.7:
        answer["age_band"] = rng.choice(AGE_BANDS)
        answer["sex"] = rng.choice(SEXES)
    return answer


# --- figures ------------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the sorted values lie (nearest rank)."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def latency_summary(latencies: list[float]) -> str:
    """p50 / p90 / p99 / max in milliseconds."""
    values = sorted(latencies)
    p50, p90, p99 = (percentile(values, f) * 1000 for f in (0.5, 0.9, 0.99))
    top = (values[-1] * 1000) if values else float("nan")
    return f"p50 {p50:.1f} ms  p90 {p90:.1f} ms  p99 {p99:.1f} ms  max {top:.1f} ms"


@dataclass
class CpuMeter:
    """CPU used by the server's processes and by this one, between two readings."""

    server_pid: int
    started: float = 0.0
    server_cpu: float = 0.0
    own_cpu: float = 0.0

    def reset(self) -> None:
        """Start a new interval."""
        self.started = time.perf_counter()
        self.server_cpu = process_tree_cpu_seconds(self.server_pid)
        self.own_cpu = time.process_time()

    def cores(self) -> tuple[float, float]:
        """(server cores, load generator cores) used on average since the last reset."""
        elapsed = time.perf_counter() - self.started or 1e-9
        server = (process_tree_cpu_seconds(self.server_pid) - self.server_cpu) / elapsed
        own = (time.process_time() - self.own_cpu) / elapsed
        return server, own


async def progress_lines(tally: Tally, meter: CpuMeter, unit: str, started: float, stop: asyncio.Event) -> None:
    """Print one line a second: throughput, p99 and CPU over the last second."""
    second = CpuMeter(meter.server_pid)
    second.reset()
    while not stop.is_set():
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        server, own = second.cores()
        elapsed = time.perf_counter() - second.started
        count, latencies = tally.window_count, sorted(tally.window_latencies)
        tally.window_count, tally.window_latencies = 0, []
        second.reset()
        errors = sum(n for status, n in tally.statuses_all.items() if status >= 400) + tally.connection_errors
        rate = f"{count / elapsed:8,.0f} {unit}/s" if tally.phase == "measure" else f"{'':>8} {unit}/s"
        p99 = f"p99 {percentile(latencies, 0.99) * 1000:6.1f} ms" if latencies else f"{'':>13}"
        print(
            f"  {time.perf_counter() - started:5.1f} s  {tally.phase:<8} {rate}  {p99}  errors {errors}"
            f"  cpu server {server:.2f} / client {own:.2f} cores  load {load_average()}",
            flush=True,
        )


# --- the run ----------------------------------------------------------------------------------------------


async def drive(
    server: Server, requests: list[tuple[bytes, int]], args: argparse.Namespace
) -> tuple[Tally, tuple[float, float]]:
    """Warm up, measure, drain; returns the tally and the CPU used while measuring."""
    load = IngestLoad(server.host, server.port, requests, args.connections)
    meter = CpuMeter(server.process.pid)
    stop = asyncio.Event()
    started = time.perf_counter()
    progress = asyncio.create_task(progress_lines(load.tally, meter, "201", started, stop))
    await load.connect()
    await asyncio.sleep(args.warmup)
    meter.reset()
    profiler = start_profiler(server, args)
    load.tally.phase = "measure"
    load.tally.measure_started = time.perf_counter()
    load.tally.window_count, load.tally.window_latencies = 0, []
    await asyncio.sleep(args.duration)
    load.tally.measure_ended = time.perf_counter()
    cpu = meter.cores()
    if profiler is not None:
        await asyncio.to_thread(profiler.wait)
        print(f"  py-spy wrote {args.profile}", flush=True)
    await load.drain(within=30)
    stop.set()
    await progress
    return load.tally, cpu


def start_profiler(server: Server, args: argparse.Namespace) -> subprocess.Popen[bytes] | None:
    """Sample the server's processes with py-spy for the measured window (folded stacks in args.profile)."""
    if not args.profile:
        return None
    command = [
        args.py_spy,
        "record",
        "--pid",
        str(server.process.pid),
        "--subprocesses",
        "--rate",
        "250",
        "--duration",
        str(max(1, int(args.duration) - 1)),
        "--format",
        "raw",
        "--output",
        args.profile,
        "--nonblocking",
        "--threads",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def verify_storage(database: Database, survey_id: int, tally: Tally) -> list[str]:
    """Compare the database with what was acknowledged; returns the problems found."""
    stored_ids = {row[0] for row in database.query("SELECT id FROM responses WHERE survey_id = ?", (survey_id,))}
    stored_picks = database.query("SELECT count(*) FROM response_picks WHERE survey_id = ?", (survey_id,))[0][0]
    acknowledged = tally.acknowledged_ids
    problems = []
    if len(set(acknowledged)) != len(acknowledged):
        problems.append(f"{len(acknowledged) - len(set(acknowledged))} ids were acknowledged twice")
    if missing := set(acknowledged) - stored_ids:
        problems.append(f"{len(missing)} acknowledged ids are not stored, e.g. {sorted(missing)[:5]}")
    if len(stored_ids) != len(acknowledged):
        problems.append(f"stored {len(stored_ids):,} responses but acknowledged {len(acknowledged):,}")
    if stored_picks != tally.acknowledged_picks:
        problems.append(
            f"stored {stored_picks:,} picks but acknowledged responses carried {tally.acknowledged_picks:,}"
        )
    print(
        f"  stored {len(stored_ids):,} responses / acknowledged {len(acknowledged):,}; "
        f"stored {stored_picks:,} picks / sent {tally.acknowledged_picks:,} in acknowledged responses"
    )
    return problems


def report(tally: Tally, cpu: tuple[float, float], args: argparse.Namespace, load_before: str) -> None:
    """Print the figures of the measured window."""
    window = tally.measure_ended - tally.measure_started
    created = tally.statuses.get(201, 0)
    errors = {status: n for status, n in sorted(tally.statuses_all.items()) if status != 201}
    print(
        f"\n{args.database}, {args.workers} worker(s), {args.connections} connections, {window:.1f} s measured"
        f" (after {args.warmup:.0f} s warm-up)"
    )
    print(f"  {created / window:,.0f} responses/s acknowledged (201)   [{created:,} in the window]")
    print(f"  latency {latency_summary(tally.latencies)}")
    print(
        f"  errors by status (whole run): {errors or 'none'}; connection errors {tally.connection_errors};"
        f" unknown outcomes {tally.unknown_outcomes}"
    )
    print(f"  CPU while measuring: server {cpu[0]:.2f} cores, load generator {cpu[1]:.2f} cores")
    print(f"  load average before {load_before}; after {load_average()}  ({os.cpu_count()} CPUs)")


def main() -> int:
    """Run the benchmark; exit 1 if what is stored differs from what was acknowledged."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes [1]")
    parser.add_argument("--connections", type=int, default=64, help="concurrent keep-alive connections [64]")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds [10]")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring [3]")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", metavar="FILE", help="sample the server with py-spy into FILE (folded stacks)")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy", help="the py-spy executable")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (server log, SQLite file)")
    args = parser.parse_args()

    load_before = load_average()
    workdir = Path(tempfile.mkdtemp(prefix="talking-ingest-"))
    failed = False
    try:
        with fresh_database(args.database, workdir) as database:
            survey_id = publish_survey(database.url)
            with running_server(database.url, workdir, args.workers) as server:
                print(
                    f"ingest: {server.url} ({args.workers} worker(s)) on {args.database}, survey {survey_id}; "
                    f"load average {load_before}",
                    flush=True,
                )
                districts = [d["code"] for d in server.get_json("/api/v1/districts")]  # type: ignore[index,union-attr]
                survey = server.get_json(f"/api/v1/surveys/{survey_id}")
                issues = [i["code"] for i in survey["issues"]]  # type: ignore[index]
                requests = build_requests(
                    server.host,
                    server.port,
                    survey_id,
                    districts,
                    issues,
                    survey["max_picks"],
                    args.seed,  # type: ignore[index]
                )
                tally, cpu = run_loop(drive(server, requests, args))
            report(tally, cpu, args, load_before)
            problems = verify_storage(database, survey_id, tally)
            for problem in problems:
                print(f"  PROBLEM: {problem}")
            print("  check: stored == acknowledged" + (" FAILED" if problems else " ok"))
            failed = bool(problems)
    finally:
        if args.keep:
            print(f"  kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


def run_loop(coroutine):  # type: ignore[no-untyped-def]
    """Run a coroutine on uvloop when it is installed (a cheaper client), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


if __name__ == "__main__":
    sys.exit(main())
