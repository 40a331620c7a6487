"""CPU per API submission through what `talking serve` runs (create_asgi_app), in process, no HTTP server.

A loaded server's throughput on a shared machine moves with the CPU it is given far more than with
a change to the submission path; CPU time per response, measured in process, does not. This drives
``create_asgi_app()`` on a fresh SQLite file with ``--concurrency`` callers on one event loop (as
granian's worker would call it) and prints, per response, the event loop thread's CPU (request
handling, rate limits, metrics) and the whole process's (the response writer's thread too).

    .venv/bin/python benchmarks/submit_cpu.py                    # rate limits off
    .venv/bin/python benchmarks/submit_cpu.py --rate-limits on   # a limit the load never reaches
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from typing import Any

import msgspec


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate-limits", choices=["on", "off"], default="off")
    parser.add_argument("--responses", type=int, default=20_000, help="responses per measured round [20000]")
    parser.add_argument("--concurrency", type=int, default=64, help="callers at once [64]")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    return parser.parse_args()


def main() -> None:
    """Set up a database and the app's environment, then measure."""
    args = arguments()
    workdir = tempfile.mkdtemp(prefix="talking-submit-cpu-")
    # As `talking serve` runs it: metrics in multiprocess files (set before prometheus-client loads).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = workdir
    url = f"sqlite+aiosqlite:///{workdir}/talking.db"
    os.environ.update(
        TALKING_DATABASE_URL=url,
        TALKING_SECRET_KEY="benchmark-secret-key-benchmark-secret",
        TALKING_RATE_LIMITS=args.rate_limits,
        TALKING_RATE_LIMIT_SUBMIT="1000000/minute",
    )
    from talking.testing.databases import migrate_up
    from talking.testing.surveys import publish_survey_at

    migrate_up(url)
    survey_id = publish_survey_at(url)
    try:
        import uvloop

        uvloop.run(measure(args, survey_id))
    except ImportError:
        asyncio.run(measure(args, survey_id))


async def measure(args: argparse.Namespace, survey_id: int) -> None:
    """Start the app, warm it up, and time ``args.rounds`` rounds of submissions."""
    from talking.app import create_asgi_app

    app = create_asgi_app()
    started: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    told: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await started.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, started.get, told.put)
    )  # type: ignore[arg-type]
    assert (await told.get())["type"] == "lifespan.startup.complete"

    async def call(method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        answer: dict[str, Any] = {"status": 0, "body": b""}
        headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
        }  # fmt: skip
        given = False

        async def receive() -> dict[str, Any]:
            nonlocal given
            if given:
                await asyncio.Event().wait()  # the client never goes away
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            else:
                answer["body"] += message.get("body", b"")

        await app(scope, receive, send)  # type: ignore[arg-type]
        return answer["status"], answer["body"]

    survey = msgspec.json.decode((await call("GET", f"/api/v1/surveys/{survey_id}"))[1])
    districts = [d["code"] for d in msgspec.json.decode((await call("GET", "/api/v1/districts"))[1])]
    bodies = answers(random.Random(args.seed), districts, [i["code"] for i in survey["issues"]], survey["max_picks"])
    path = f"/api/v1/surveys/{survey_id}/responses"
    statuses: dict[int, int] = {}

    async def caller(number: int, count: int) -> None:
        for n in range(count):
            status, _ = await call("POST", path, bodies[(number * 7919 + n) % len(bodies)])
            statuses[status] = statuses.get(status, 0) + 1

    each = args.responses // args.concurrency
    await asyncio.gather(*[caller(k, max(1, each // 10)) for k in range(args.concurrency)])  # warm-up
    print(
        f"submit_cpu: rate limits {args.rate_limits}, {args.concurrency} callers, {each * args.concurrency:,} a round"
    )
    for _ in range(args.rounds):
        statuses.clear()
        wall, loop_cpu, process_cpu = time.perf_counter(), time.thread_time(), time.process_time()
        await asyncio.gather(*[caller(k, each) for k in range(args.concurrency)])
        n = each * args.concurrency
        wall, loop_cpu = time.perf_counter() - wall, time.thread_time() - loop_cpu
        process_cpu = time.process_time() - process_cpu
        print(
            f"  {n / wall:7,.0f} responses/s  event loop thread {loop_cpu / n * 1e6:6.1f} us CPU per response"
            f"  process {process_cpu / n * 1e6:6.1f} us  statuses {dict(sorted(statuses.items()))}",
            flush=True,
        )
    await started.put({"type": "lifespan.shutdown"})
    await told.get()
    await lifespan


def answers(rng: random.Random, districts: list[str], issues: list[str], max_picks: int) -> list[bytes]:
    """Varied bodies as benchmarks/ingest.py sends them: 1-5 picks, a comment from 3 in 10, about-you from 7."""
    bodies = []
    for _ in range(4096):
        answer: dict[str, Any] = {
            "district": rng.choice(districts),
            "picks": rng.sample(issues, rng.randint(1, min(5, max_picks))),
        }
        if rng.random() < 0.3:
            answer["comment"] = "Speeding on the main road past the school every morning."
        if rng.random() < 0.7:
            answer["age_band"], answer["sex"] = (
                rng.choice(["25-34", "prefer-not-to-say"]),
                rng.choice(["female", "male"]),
            )
        bodies.append(msgspec.json.encode(answer))
    return bodies


if __name__ == "__main__":
    main()
