"""Metrics in the Prometheus format at ``/metrics`` (prometheus-client), for whoever holds the token.

Counted here: requests by route and status, with their latency; responses stored; the writer's
batch sizes and queue depth; session writes; rate-limit refusals; database errors. Code anywhere
counts by importing this module, e.g. ``metrics.rate_limit_refused.labels(limit="submissions").inc()``.

``talking serve`` runs several worker processes, each with its own counters. prometheus-client's
multiprocess mode adds them up: each worker writes its values to memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR`` (which `talking serve` makes, empty, unless it is set), and
``/metrics`` reads all of them, so any worker answers for the whole server. Without that
variable (tests in-process, one process) the counters are the process's own.

``RequestMetrics`` is the outermost ASGI layer of what `talking serve` runs, in front of the fast
paths (surveys/fast_submit.py, fast_pages.py), which answer without Litestar's middleware: every
request is counted once, whichever path answers it. It also gives each request its id
(talking.logs) and, with JSON logs, writes one line per request.

``/metrics`` answers only ``Authorization: Bearer TALKING_METRICS_TOKEN``; without the setting it
answers no one (404), and a wrong or missing token gets 401.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from litestar.utils.path import normalize_path
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from talking import logs

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

METRICS_PATH = "/metrics"
# Requests whose path matches no route are counted under one label, so that scanners cannot make
# a new time series per path they try.
UNMATCHED = "unmatched"

requests = Counter("talking_requests", "HTTP requests answered", ["route", "method", "status"])
request_seconds = Histogram(
    "talking_request_duration_seconds",
    "Time from a request's arrival to the end of its answer",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
responses_stored = Counter("talking_responses_stored", "Residents' responses acknowledged as stored")
writer_batch_size = Histogram(
    "talking_writer_batch_size", "Responses per writer transaction", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256)
)
writer_queue_depth = Gauge(
    "talking_writer_queue_depth", "Responses waiting for the writer, over all workers", multiprocess_mode="livesum"
)
session_writes = Counter("talking_session_writes", "Web sessions written", ["session"])  # new or existing
rate_limit_refused = Counter("talking_rate_limit_refusals", "Requests refused by a rate limit", ["limit"])
database_errors = Counter("talking_database_errors", "Database errors", ["where"])  # request or writer

log = logging.getLogger(__name__)


def render() -> bytes:
    """Every metric in Prometheus' text format: all workers' when they share a directory, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


class RequestMetrics:
    """ASGI app: count and time every request, give it an id, and serve /metrics; the rest to ``then``."""

    def __init__(self, app: Litestar, then: ASGIApp, *, token: str | None, access_log: bool) -> None:
        self.app = app
        self.then = then
        self.token = token.encode() if token else None
        self.access_log = access_log
        self._router = app.asgi_router
        # Each (route, method, status)'s two series, looked up once: ``labels()`` costs more than
        # counting (about 2 of the 5 microseconds the two cost a request). Bounded as the label sets are.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer /metrics, or pass the request on and count it."""
        if scope["type"] != "http":
            return await self.then(scope, receive, send)
        started = time.perf_counter()
        request_id = logs.request_id_from(scope["headers"])
        token = logs.request_id.set(request_id)
        header = (b"x-request-id", request_id.encode("ascii"))
        status = 500  # if nothing is sent at all

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            if scope["path"] == METRICS_PATH:
                await self._serve_metrics(scope, receive, send_counted)
            else:
                await self.then(scope, receive, send_counted)
        finally:
            elapsed = time.perf_counter() - started
            route = self._route_of(scope)
            counted, timed = self._series_of(route, scope["method"], status)
            counted.inc()
            timed.observe(elapsed)
            if self.access_log:
                path = logs.loggable_path(scope["path"])
                logs.access_log.info(
                    "%s %s %d",
                    scope["method"],
                    path,
                    status,
                    extra={"method": scope["method"], "path": path, "status": status, "ms": elapsed * 1000},
                )
            logs.request_id.reset(token)

    def _series_of(self, route: str, method: str, status: int) -> tuple[Any, Any]:
        """The request counter's and the latency histogram's series for these labels."""
        series = self._series.get((route, method, status))
        if series is None:
            series = (requests.labels(route, method, str(status)), request_seconds.labels(route))
            self._series[(route, method, status)] = series
        return series

    def _route_of(self, scope: Scope) -> str:
        """The route's template ("/surveys/{survey_id:int}/issues"), as Litestar or the router's cache names it."""
        if template := scope.get("path_template"):  # type: ignore[typeddict-item]  # Litestar's, or a fast path's
            return template
        if scope["path"] == METRICS_PATH:
            return METRICS_PATH
        try:  # the fast paths answer without Litestar's routing; the router's lookup is cached
            return self._router.handle_routing(path=normalize_path(scope["path"]), method=scope["method"])[4]
        except Exception:  # not found, method not allowed
            return UNMATCHED

    async def _serve_metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The metrics for the token's holder; problem details for anyone else."""
        from talking.asgi import send_response
        from talking.problems import problem

        given = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        if self.token is None:
            refusal = problem(404, instance=METRICS_PATH)
        elif not hmac.compare_digest(given, b"Bearer " + self.token):
            refusal = problem(
                401,
                "Send the metrics token: Authorization: Bearer TOKEN (TALKING_METRICS_TOKEN).",
                slug="unauthorized",
                instance=METRICS_PATH,
                headers={"WWW-Authenticate": 'Bearer realm="talking metrics"'},
            )
        elif scope["method"] not in ("GET", "HEAD"):
            refusal = problem(405, "Read the metrics with GET.", instance=METRICS_PATH, headers={"Allow": "GET, HEAD"})
        else:
            refusal = None
        if refusal is not None:
            request: Any = self.app.request_class(scope, receive, send)
            return await send_response(self.app, request, refusal, send)
        body = render()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", CONTENT_TYPE_LATEST.encode("latin-1")),
                    (b"content-length", b"%d" % len(body)),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
