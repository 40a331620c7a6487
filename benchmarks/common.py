"""What the load benchmarks (ingest.py, flow.py) share: the command line, the run from a fresh
database to the closing check, the warm-up / measure / drain windows with a progress line a
second, a lean HTTP/1.1 response parser, and the figures (latency percentiles, CPU, load).

Each benchmark brings its own load (a ``Load``: start, then drain) and its own ``Tally``, which
counts what the load saw, prints the benchmark's own figures and checks them against the database.
The server and the database come from talking.testing, as the tests' do.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from talking.testing.databases import DEFAULT_POSTGRES_ADMIN_URL, Database, fresh_database
from talking.testing.server import LiveServer, live_server
from talking.testing.surveys import publish_survey_at

T = TypeVar("T")

POSTGRES_ADMIN_URL = os.environ.get("TALKING_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL)

COMMENTS = (
    "Speeding on the main road past the school every morning.",
    "Lads on bikes in the park after dark, and litter everywhere.",
    "Please put the street lights back on in our close.",
    "Cars broken into twice this year on our street.",
)


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


# --- a lean HTTP/1.1 response parser ----------------------------------------------------------------


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
class Tally:
    """What a load benchmark saw: the phase of the run, the measured window, the progress line's
    last second and the CPU used while measuring.

    Each benchmark's tally adds what it counts and says, in the class attributes and methods
    below, how the progress line shows it, what its own figures are and how to check them.
    """

    unit: ClassVar[str]  # what the progress line counts a second: "201" -> "201/s"
    rate_width: ClassVar[int] = 8
    p99_decimals: ClassVar[int] = 1
    client: ClassVar[str]  # what the CPU line calls this process
    check: ClassVar[str]  # what the closing check compares

    phase: str = "warm-up"  # warm-up -> measure -> drain
    measure_started: float = 0.0
    measure_ended: float = 0.0
    cpu: tuple[float, float] = (0.0, 0.0)  # server cores, load generator cores, while measuring
    # for the per-second progress line (measured window only)
    window_count: int = 0
    window_latencies: list[float] = field(default_factory=list)

    def start_measuring(self) -> None:
        """The warm-up is over: from now on it counts."""
        self.phase = "measure"
        self.measure_started = time.perf_counter()
        self.window_count, self.window_latencies = 0, []

    def take_window(self) -> tuple[int, list[float]]:
        """What the progress line's last second counted (sorted latencies), and start the next."""
        count, latencies = self.window_count, sorted(self.window_latencies)
        self.window_count, self.window_latencies = 0, []
        return count, latencies

    def trouble(self) -> str:
        """What went wrong so far, for the progress line: "errors 3"."""
        raise NotImplementedError

    def report(self, window: float) -> None:
        """Print the benchmark's own figures of the measured window (``window`` seconds)."""
        raise NotImplementedError

    def verify(self, database: Database, survey_id: int) -> list[str]:
        """Compare the database with what the load saw; print a line saying so; return the problems."""
        raise NotImplementedError


async def progress_lines(tally: Tally, server_pid: int, started: float, stop: asyncio.Event) -> None:
    """Print one line a second: throughput, p99, what went wrong, and CPU over the last second."""
    second = CpuMeter(server_pid)
    second.reset()
    while not stop.is_set():
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        server, own = second.cores()
        elapsed = time.perf_counter() - second.started
        count, latencies = tally.take_window()
        second.reset()
        width, unit = tally.rate_width, tally.unit
        rate = f"{count / elapsed:{width},.0f} {unit}/s" if tally.phase == "measure" else f"{'':>{width}} {unit}/s"
        p99 = f"p99 {percentile(latencies, 0.99) * 1000:6.{tally.p99_decimals}f} ms" if latencies else f"{'':>13}"
        print(
            f"  {time.perf_counter() - started:5.1f} s  {tally.phase:<8} {rate}  {p99}  {tally.trouble()}"
            f"  cpu server {server:.2f} / client {own:.2f} cores  load {load_average()}",
            flush=True,
        )


# --- the run ------------------------------------------------------------------------------------------


class Load(Protocol):
    """The requests a benchmark sends, and its tally of what came back."""

    @property
    def tally(self) -> Tally:
        """What the load saw."""
        ...

    async def start(self) -> None:
        """Start sending (and go on until drained)."""

    async def drain(self) -> None:
        """Set the tally's phase to drain, stop sending, and wait for what is under way."""


def measure(server: LiveServer, args: argparse.Namespace, make_load: Callable[[], Load]) -> Tally:
    """Put the server under ``make_load()``: warm up, measure (sampling the server with py-spy if
    asked), drain; returns the load's tally, with the CPU used while measuring."""
    return run_loop(_measure(server, args, make_load))


async def _measure(server: LiveServer, args: argparse.Namespace, make_load: Callable[[], Load]) -> Tally:
    load = make_load()
    tally = load.tally
    stop = asyncio.Event()
    progress = asyncio.create_task(progress_lines(tally, server.process.pid, time.perf_counter(), stop))
    await load.start()
    await asyncio.sleep(args.warmup)
    meter = CpuMeter(server.process.pid)
    meter.reset()
    profiler = start_profiler(server, args)
    tally.start_measuring()
    await asyncio.sleep(args.duration)
    tally.measure_ended = time.perf_counter()
    tally.cpu = meter.cores()
    if profiler is not None:
        await asyncio.to_thread(profiler.wait)
        print(f"  py-spy wrote {args.profile}", flush=True)
    await load.drain()
    stop.set()
    await progress
    return tally


def start_profiler(server: LiveServer, args: argparse.Namespace) -> subprocess.Popen[bytes] | None:
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


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is installed (a cheaper client), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def parse_arguments(
    doc: str,
    concurrency: str,
    concurrency_help: str,
    extra: Sequence[tuple[tuple[str, ...], dict[str, Any]]] = (),
) -> argparse.Namespace:
    """The options of a load benchmark; ``concurrency`` names how many clients send at once (64 unless told).

    ``extra``: a benchmark's own options, as (names, keyword arguments) for ``add_argument``.
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    for names, options in extra:
        parser.add_argument(*names, **options)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes [1]")
    parser.add_argument(concurrency, type=int, default=64, help=concurrency_help)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds [10]")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring [3]")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", metavar="FILE", help="sample the server with py-spy into FILE (folded stacks)")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy", help="the py-spy executable")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (server log, SQLite file)")
    parser.add_argument(
        "--rate-limits",
        metavar="LIMIT",
        help='run with rate limits on, submissions limited to LIMIT per address ("1000000/minute": a limit the'
        " load never reaches, to measure what counting costs); off by default, as all the load comes from one address",
    )
    return parser.parse_args()


def publish_benchmark_survey(database_url: str) -> int:
    """Publish the benchmarks' survey, open now, offering eight issues with five picks; returns its id."""
    return publish_survey_at(database_url, title="Benchmark survey")


def rate_limits_env(args: argparse.Namespace) -> dict[str, str]:
    """The server's rate limit settings: off (all the load comes from one address), or on with ``--rate-limits``."""
    if not args.rate_limits:
        return {"TALKING_RATE_LIMITS": "off"}
    return {
        "TALKING_RATE_LIMITS": "on",
        "TALKING_RATE_LIMIT_SUBMIT": args.rate_limits,
        "TALKING_RATE_LIMIT_SIGN_IN": args.rate_limits,
    }


def run_benchmark(
    name: str,
    args: argparse.Namespace,
    drive: Callable[[LiveServer, int, argparse.Namespace], Tally],
    *,
    detail: str = "",
    setting: str,
    prepare: Callable[[str, int], None] | None = None,
) -> int:
    """Run a load benchmark from a fresh database to the closing check; the exit status (1: check failed).

    A fresh database with the benchmark survey, a server on it, ``drive(server, survey_id, args)``
    under it, then the figures (``setting`` says how the load was sent) and the check of the database
    against the tally. ``detail`` goes on the first line. ``prepare(database_url, survey_id)``, if
    given, runs before the server starts (the invited journey's members and invitations).
    """
    load_before = load_average()
    workdir = Path(tempfile.mkdtemp(prefix=f"talking-{name}-"))
    failed = False
    try:
        with fresh_database(args.database, workdir, POSTGRES_ADMIN_URL) as database:
            survey_id = publish_benchmark_survey(database.url)
            if prepare is not None:
                prepare(database.url, survey_id)
            with live_server(database.url, workdir, args.workers, extra_env=rate_limits_env(args)) as server:
                limits = f", rate limits on ({args.rate_limits})" if args.rate_limits else ", rate limits off"
                print(
                    f"{name}: {server.url} ({args.workers} worker(s)) on {args.database}, survey {survey_id}{detail}"
                    f"{limits}; load average {load_before}",
                    flush=True,
                )
                tally = drive(server, survey_id, args)
            window = tally.measure_ended - tally.measure_started
            print(
                f"\n{args.database}, {args.workers} worker(s), {setting}, {window:.1f} s measured"
                f" (after {args.warmup:.0f} s warm-up)"
            )
            tally.report(window)
            print(f"  CPU while measuring: server {tally.cpu[0]:.2f} cores, {tally.client} {tally.cpu[1]:.2f} cores")
            print(f"  load average before {load_before}; after {load_average()}  ({os.cpu_count()} CPUs)")
            problems = tally.verify(database, survey_id)
            for problem in problems:
                print(f"  PROBLEM: {problem}")
            print(f"  check: {tally.check}" + (" FAILED" if problems else " ok"))
            failed = bool(problems)
    finally:
        if args.keep:
            print(f"  kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0
