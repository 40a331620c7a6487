"""How many public results pages a second can one worker serve?

Starts a real `talking serve` on a fresh database, stores answers from every district (the demo's
synthetic residents), publishes the survey's results with a quote and an update, then keeps many
keep-alive connections asking for result pages at once: the county page, each district's page
(one suppressed) and the list, in turn. The target is 2,000 pages a second on one worker. Every
answer must be a 200 with the survey's title in it, or the script exits 1.

    .venv/bin/python benchmarks/results.py                       # SQLite, 1 worker, 32 connections, 10 s
    .venv/bin/python benchmarks/results.py --database postgres --workers 2
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from common import (
    POSTGRES_ADMIN_URL,
    ResponseParser,
    Tally,
    latency_summary,
    load_average,
    measure,
    parse_arguments,
    rate_limits_env,
    run_loop,
)

from talking.db.engine import create_engine
from talking.demo import synthetic_responses
from talking.reports.service import ReportCache
from talking.results import moderation, services
from talking.surveys.writer import ResponseWriter
from talking.testing.databases import Database, fresh_database
from talking.testing.server import LiveServer, live_server
from talking.testing.surveys import DEMO_ISSUES, publish_survey

TITLE = "Results benchmark survey"
# Answers per district: thirteen shown, Wyre (4) too few to publish, so one page says so.
ANSWERS = {code: 300 for code in (
    "E06000008", "E06000009", "E07000117", "E07000118", "E07000119", "E07000120", "E07000121", "E07000122",
    "E07000123", "E07000124", "E07000125", "E07000126", "E07000127",
)} | {"E07000128": 4}  # fmt: skip


async def prepare(database_url: str) -> int:
    """A survey with answers, its interim results published, one quote and one update."""
    engine = create_engine(database_url)
    try:
        survey_id = await publish_survey(engine, title=TITLE)
        answers = synthetic_responses(list(DEMO_ISSUES), 5, sum(ANSWERS.values()), 7, datetime.now(UTC))
        districts = [code for code, n in ANSWERS.items() for _ in range(n)]
        for answer, district in zip(answers, districts, strict=True):
            answer.survey_id, answer.district = survey_id, district
        answers[0].comment = "Speeding on the main road every night"
        writer = ResponseWriter(engine)
        await writer.store_now(answers)
        await writer.stop()
        built = await ReportCache(engine).get(survey_id)
        async with engine.begin() as conn:
            await services.publish(conn, built, actor=None, ip=None)
            first = (await conn.exec_driver_sql("SELECT min(id) FROM responses")).scalar_one()
            await moderation.approve_quote(conn, survey_id, first, answers[0].comment, set(), actor=None, ip=None)
            form = moderation.UpdateForm(
                "county", "road-safety", "Speed checks", "Lancashire Constabulary", "1", "11", "2026"
            )
            await moderation.add_update(conn, survey_id, form, actor=None, ip=None)
        return survey_id
    finally:
        await engine.dispose()


@dataclass
class PagesTally(Tally):
    """What the readers saw."""

    unit: ClassVar[str] = "pages"
    client: ClassVar[str] = "readers"
    check: ClassVar[str] = "every page 200 with the survey's title"

    pages: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    wrong: int = 0

    def trouble(self) -> str:
        bad = sum(n for status, n in self.statuses.items() if status != 200) + self.wrong
        return f"bad {bad}"

    def report(self, window: float) -> None:
        print(f"  {self.pages / window:,.0f} result pages/s   [{self.pages:,} in the window]")
        print(f"  per page: {latency_summary(self.latencies)}")
        print(f"  statuses: {dict(self.statuses)}")

    def verify(self, database: Database, survey_id: int) -> list[str]:
        problems = []
        if set(self.statuses) != {200}:
            problems.append(f"statuses other than 200: {dict(self.statuses)}")
        if self.wrong:
            problems.append(f"{self.wrong} pages without the survey's title")
        print(f"  {sum(self.statuses.values()):,} pages read in all")
        return problems


class Reader(asyncio.Protocol):
    """One keep-alive connection reading result pages in turn, one at a time."""

    def __init__(self, tally: PagesTally, requests: list[bytes]) -> None:
        self.tally, self.requests = tally, requests
        self.parser = ResponseParser(self._on_response)
        self.transport: asyncio.Transport | None = None
        self.next = 0
        self.sent_at = 0.0
        self.stopping = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def _send(self) -> None:
        if self.stopping or self.transport is None:
            if self.transport is not None:
                self.transport.close()
            return
        self.sent_at = time.perf_counter()
        self.transport.write(self.requests[self.next % len(self.requests)])
        self.next += 1

    def _on_response(self, status: int, head: bytes, body: bytes) -> None:
        tally = self.tally
        if tally.phase == "measure":
            latency = time.perf_counter() - self.sent_at
            tally.pages += 1
            tally.window_count += 1
            tally.latencies.append(latency)
            tally.window_latencies.append(latency)
        tally.statuses[status] += 1
        if TITLE.encode() not in body:
            tally.wrong += 1
        self._send()


class PagesLoad:
    """Many readers at once."""

    def __init__(self, server: LiveServer, survey_id: int, connections: int) -> None:
        self.server, self.connections = server, connections
        self.tally = PagesTally()
        paths = ["/results", f"/results/{survey_id}"] + [f"/results/{survey_id}/{code}" for code in ANSWERS]
        host = f"{server.host}:{server.port}"
        self.requests = [f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() for path in paths]
        self.readers: list[Reader] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for n in range(self.connections):
            # Each reader starts at another page, so all pages are asked for at every moment.
            requests = self.requests[n % len(self.requests) :] + self.requests[: n % len(self.requests)]
            _transport, reader = await loop.create_connection(
                lambda requests=requests: Reader(self.tally, requests), self.server.host, self.server.port
            )
            self.readers.append(reader)

    async def drain(self) -> None:
        self.tally.phase = "drain"
        for reader in self.readers:
            reader.stopping = True
        await asyncio.gather(*(reader.done for reader in self.readers))


def main() -> int:
    args = parse_arguments(__doc__ or "", "--connections", "keep-alive connections reading at once [32]")
    if args.connections == 64:  # parse_arguments' default is the submission benchmarks'
        args.connections = 32
    load_before = load_average()
    workdir = Path(tempfile.mkdtemp(prefix="talking-results-"))
    try:
        with fresh_database(args.database, workdir, POSTGRES_ADMIN_URL) as database:
            survey_id = run_loop(prepare(database.url))
            with live_server(database.url, workdir, args.workers, extra_env=rate_limits_env(args)) as server:
                print(
                    f"results: {server.url} ({args.workers} worker(s)) on {args.database}, survey {survey_id},"
                    f" {args.connections} connections; load average {load_before}",
                    flush=True,
                )
                tally = measure(server, args, lambda: PagesLoad(server, survey_id, args.connections))
            window = tally.measure_ended - tally.measure_started
            print(
                f"\n{args.database}, {args.workers} worker(s), {args.connections} connections, {window:.1f} s measured"
            )
            tally.report(window)
            print(f"  CPU while measuring: server {tally.cpu[0]:.2f} cores, readers {tally.cpu[1]:.2f} cores")
            if tally.cpu[0] > 0:
                # On a shared machine the server gets what CPU is left: pages per server CPU second is
                # what one worker with a core of its own would serve.
                per_cpu = tally.pages / window / tally.cpu[0]
                print(f"  {per_cpu:,.0f} pages per server CPU second ({1e6 / per_cpu:,.0f} us of CPU a page)")
            print(f"  load average before {load_before}; after {load_average()}  ({os.cpu_count()} CPUs)")
            problems = tally.verify(database, survey_id)
            for problem in problems:
                print(f"  PROBLEM: {problem}")
            print(f"  check: {tally.check}" + (" FAILED" if problems else " ok"))
            return 1 if problems else 0
    finally:
        if args.keep:
            print(f"  kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
