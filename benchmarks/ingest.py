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
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgspec
from common import COMMENTS, ResponseParser, Tally, latency_summary, measure, parse_arguments, run_benchmark

from talking.testing.databases import Database
from talking.testing.server import LiveServer

# How many distinct request bodies to pre-encode; the connections cycle through them.
DISTINCT_BODIES = 4096
# How long to wait, once the measured window is over, for the answers to requests already sent.
DRAIN_SECONDS = 30


# --- the load generator -------------------------------------------------------------------------------


class Receipt(msgspec.Struct):
    """The part of a 201 the benchmark checks."""

    id: int


@dataclass
class IngestTally(Tally):
    """What the load generator saw."""

    unit: ClassVar[str] = "201"
    client: ClassVar[str] = "load generator"
    check: ClassVar[str] = "stored == acknowledged"

    latencies: list[float] = field(default_factory=list)  # seconds, measured window only
    statuses: Counter[int] = field(default_factory=Counter)  # measured window only
    statuses_all: Counter[int] = field(default_factory=Counter)
    acknowledged_ids: list[int] = field(default_factory=list)  # every 201, warm-up included
    acknowledged_picks: int = 0
    connection_errors: int = 0
    unknown_outcomes: int = 0  # requests on connections that died before the response came
    in_flight: int = 0

    def trouble(self) -> str:
        errors = sum(n for status, n in self.statuses_all.items() if status >= 400) + self.connection_errors
        return f"errors {errors}"

    def report(self, window: float) -> None:
        created = self.statuses.get(201, 0)
        errors = {status: n for status, n in sorted(self.statuses_all.items()) if status != 201}
        print(f"  {created / window:,.0f} responses/s acknowledged (201)   [{created:,} in the window]")
        print(f"  latency {latency_summary(self.latencies)}")
        print(
            f"  errors by status (whole run): {errors or 'none'}; connection errors {self.connection_errors};"
            f" unknown outcomes {self.unknown_outcomes}"
        )

    def verify(self, database: Database, survey_id: int) -> list[str]:
        """Every acknowledged response stored once, with its picks, and nothing else."""
        stored_ids = {row[0] for row in database.query("SELECT id FROM responses WHERE survey_id = ?", (survey_id,))}
        stored_picks = database.query("SELECT count(*) FROM response_picks WHERE survey_id = ?", (survey_id,))[0][0]
        acknowledged = self.acknowledged_ids
        problems = []
        if len(set(acknowledged)) != len(acknowledged):
            problems.append(f"{len(acknowledged) - len(set(acknowledged))} ids were acknowledged twice")
        if missing := set(acknowledged) - stored_ids:
            problems.append(f"{len(missing)} acknowledged ids are not stored, e.g. {sorted(missing)[:5]}")
        if len(stored_ids) != len(acknowledged):
            problems.append(f"stored {len(stored_ids):,} responses but acknowledged {len(acknowledged):,}")
        if stored_picks != self.acknowledged_picks:
            problems.append(
                f"stored {stored_picks:,} picks but acknowledged responses carried {self.acknowledged_picks:,}"
            )
        print(
            f"  stored {len(stored_ids):,} responses / acknowledged {len(acknowledged):,}; "
            f"stored {stored_picks:,} picks / sent {self.acknowledged_picks:,} in acknowledged responses"
        )
        return problems


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
        self.tally = IngestTally()
        self._next = 0
        self._open: list[IngestConnection] = []
        self._drained: asyncio.Future[None] | None = None
        self._reconnecting: set[asyncio.Task[None]] = set()

    def next_request(self) -> tuple[bytes, int]:
        """The next pre-encoded request and how many picks it carries."""
        self._next += 1
        return self.requests[self._next % len(self.requests)]

    async def start(self) -> None:
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

    async def drain(self) -> None:
        """Stop sending and wait (DRAIN_SECONDS at most) for the answers to requests already sent."""
        self.tally.phase = "drain"
        self._drained = asyncio.get_running_loop().create_future()
        self.check_drained()
        try:
            await asyncio.wait_for(self._drained, DRAIN_SECONDS)
        except TimeoutError:
            print(f"  {self.tally.in_flight} requests still unanswered after {DRAIN_SECONDS} s", flush=True)
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


# --- the run ----------------------------------------------------------------------------------------------


def drive(server: LiveServer, survey_id: int, args: argparse.Namespace) -> Tally:
    """Answer the survey over args.connections connections: warm up, measure, drain."""
    districts = [d["code"] for d in server.get_json("/api/v1/districts")]  # type: ignore[index,union-attr]
    survey = server.get_json(f"/api/v1/surveys/{survey_id}")
    issues = [i["code"] for i in survey["issues"]]  # type: ignore[index]
    requests = build_requests(
        server.host,
        server.port,
        survey_id,
        districts,
        issues,
        survey["max_picks"],  # type: ignore[index]
        args.seed,
    )
    return measure(server, args, lambda: IngestLoad(server.host, server.port, requests, args.connections))


def main() -> int:
    """Run the benchmark; exit 1 if what is stored differs from what was acknowledged."""
    args = parse_arguments(__doc__, "--connections", "concurrent keep-alive connections [64]")
    return run_benchmark("ingest", args, drive, setting=f"{args.connections} connections")


if __name__ == "__main__":
    sys.exit(main())
