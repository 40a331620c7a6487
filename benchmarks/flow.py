"""How many residents per second can go through the HTML survey, start page to confirmation?

Starts a real server on a fresh database (as ingest.py does), publishes a survey, and lets many
simulated residents answer it at once from this process. Each journey is a new resident, with a
keep-alive connection and a cookie jar of its own, as a new browser would come (so the server's
workers share the residents out as they arrive). It follows the real pages: it reads each page's
form (action, ``_csrf_token`` and other hidden inputs, field names, option values), fills it in,
posts it and follows the 303 to the next page, until the confirmation page shows a reference. It
does not know the page order: it answers whatever form the server shows, so a new page in the
journey needs no change here.

Afterwards the responses stored for the survey must be exactly the journeys that reached the
confirmation page (same count, and every reference shown exists), or the script exits 1.

    .venv/bin/python benchmarks/flow.py                      # SQLite, 1 worker, 64 residents, 10 s
    .venv/bin/python benchmarks/flow.py --workers 2 --database postgres
    .venv/bin/python benchmarks/flow.py --invited                   # a members survey, each journey from /i/TOKEN

With ``--invited`` the survey is for invited panel members: before the server starts, --invitations
members (in the 14 districts in turn) are each invited, and every journey starts from a link of its
own, /i/TOKEN, instead of the start page. The membership gives the district, so that page is skipped.
The check then also counts the invitations used: exactly one per stored response.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlencode, urljoin, urlsplit

from common import (
    COMMENTS,
    ResponseParser,
    Tally,
    latency_summary,
    measure,
    parse_arguments,
    percentile,
    run_benchmark,
)

from talking.reference import districts
from talking.surveys.references import REFERENCE_PATTERN
from talking.testing.databases import Database
from talking.testing.invitations import invite_many_at, publish_members_survey_at
from talking.testing.server import LIVE_SERVER_SECRET_KEY, LiveServer

REFERENCE = re.compile(rf"\b{REFERENCE_PATTERN}\b")

# A small, forgiving form reader: regular expressions over the <form> only, not a DOM. An HTML
# parser in Python costs about a millisecond a page, which would take the CPU the server needs.
_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_INPUT = re.compile(r"<input\b([^>]*)>", re.I)
_SELECT = re.compile(r"<select\b([^>]*)>(.*?)</select>", re.S | re.I)
_OPTION = re.compile(r"<option\b([^>]*)>", re.I)
_TEXTAREA = re.compile(r"<textarea\b([^>]*)>(.*?)</textarea>", re.S | re.I)
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_START_LINK = re.compile(r"""<a\b[^>]*\bhref="([^"]+)"[^>]*class="[^"]*govuk-button--start""", re.I)


def attributes(tag: str) -> dict[str, str]:
    """The attributes of one tag's inside, names lower-cased, values unescaped."""
    found = {}
    for match in _ATTRIBUTE.finditer(tag):
        name, *values = match.groups()
        value = next((v for v in values if v is not None), "")
        found[name.lower()] = html.unescape(value)
    return found


@dataclass
class Form:
    """What a page asks: where to post and the fields, grouped the way a browser would send them."""

    action: str | None
    hidden: list[tuple[str, str]] = field(default_factory=list)
    radios: dict[str, list[str]] = field(default_factory=dict)
    checkboxes: dict[str, list[str]] = field(default_factory=dict)
    selects: dict[str, list[str]] = field(default_factory=dict)  # name -> non-empty option values
    texts: list[str] = field(default_factory=list)  # text inputs and textareas


def read_form(page: str) -> Form | None:
    """The first POST form on the page, or None."""
    for match in _FORM.finditer(page):
        form_attributes = attributes(match.group(1))
        if form_attributes.get("method", "get").lower() != "post":
            continue
        form = Form(action=form_attributes.get("action") or None)
        inside = match.group(2)
        for tag in _INPUT.finditer(inside):
            attrs = attributes(tag.group(1))
            kind, name = attrs.get("type", "text").lower(), attrs.get("name")
            if not name or "disabled" in attrs:
                continue
            value = attrs.get("value", "")
            if kind == "hidden":
                form.hidden.append((name, value))
            elif kind == "radio":
                form.radios.setdefault(name, []).append(value)
            elif kind == "checkbox":
                form.checkboxes.setdefault(name, []).append(value)
            elif kind not in {"submit", "button", "reset", "image", "file"}:
                form.texts.append(name)
        for select in _SELECT.finditer(inside):
            name = attributes(select.group(1)).get("name")
            if name:
                options = [attributes(o.group(1)).get("value", "") for o in _OPTION.finditer(select.group(2))]
                form.selects[name] = [value for value in options if value]
        for textarea in _TEXTAREA.finditer(inside):
            name = attributes(textarea.group(1)).get("name")
            if name:
                form.texts.append(name)
        return form
    return None


def fill(form: Form, rng: random.Random, max_picks: int) -> list[tuple[str, str]]:
    """Answer a form as a resident might: every question answered, optional ones mostly."""
    fields = list(form.hidden)
    for name, values in form.radios.items():
        if name in {"age_band", "sex"} and rng.random() < 0.15:
            continue  # optional: some residents skip them
        fields.append((name, rng.choice(values)))
    for name, values in form.checkboxes.items():
        most = min(len(values), max_picks if name == "picks" else 2)
        fields.extend((name, value) for value in rng.sample(values, rng.randint(1, most)))
    # Selects offering the same numbers as there are selects rank things: give each a different one.
    groups: defaultdict[tuple[str, ...], list[str]] = defaultdict(list)
    for name, values in form.selects.items():
        groups[tuple(values)].append(name)
    for values, names in groups.items():
        if len(names) > 1 and len(values) == len(names):
            fields.extend(zip(names, rng.sample(values, len(values)), strict=True))
        else:
            fields.extend((name, rng.choice(values)) for name in names if values)
    for name in form.texts:
        fields.append((name, rng.choice(COMMENTS) if rng.random() < 0.3 else ""))
    return fields


# --- a keep-alive HTTP/1.1 connection with cookies -------------------------------------------------


class JourneyFailed(Exception):
    """A resident could not go on: an unexpected status or a page without what it needed."""

    def __init__(self, step: str, status: int, detail: str = "") -> None:
        super().__init__(f"{step}: {status} {detail}".strip())
        self.step, self.status = step, status


class Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.parser = ResponseParser(self._on_response)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes, bytes]] | None = None
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)

    def _on_response(self, status: int, head: bytes, body: bytes) -> None:
        if b"\r\nconnection: close" in head.lower():
            self.closing = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((status, head, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    def usable(self) -> bool:
        """Whether another request may go on this connection."""
        return self.transport is not None and not self.closing

    async def exchange(self, request: bytes) -> tuple[int, bytes, bytes]:
        """Send one request; the status, header block and body of the response."""
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


@dataclass
class FlowTally(Tally):
    """What the residents saw."""

    unit: ClassVar[str] = "journeys"
    rate_width: ClassVar[int] = 6
    p99_decimals: ClassVar[int] = 0
    client: ClassVar[str] = "residents"
    check: ClassVar[str] = "stored == finished journeys"

    journeys: list[float] = field(default_factory=list)  # durations, measured window
    requests: list[float] = field(default_factory=list)  # latencies, measured window
    by_step: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    references: list[str] = field(default_factory=list)  # every journey that finished, warm-up included
    failures: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)  # every response, whole run
    unknown_outcomes: int = 0  # journeys cut off while submitting: stored or not, nobody was told
    invited: bool = False  # --invited: each journey from an invitation's link

    def trouble(self) -> str:
        return f"failures {sum(self.failures.values())}"

    def report(self, window: float) -> None:
        journeys = len(self.journeys)
        print(f"  {journeys / window:,.1f} journeys/s completed   [{journeys:,} in the window]")
        print(f"  per journey: {latency_summary(self.journeys)}")
        print(f"  per request: {latency_summary(self.requests)}   ({len(self.requests) / window:,.0f} requests/s)")
        width = max((len(step) for step in self.by_step), default=10)
        for step, latencies in sorted(self.by_step.items(), key=lambda item: -percentile(sorted(item[1]), 0.99)):
            values = sorted(latencies)
            p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
            print(f"    {step:<{width}}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
        other = {status: n for status, n in sorted(self.statuses.items()) if status not in (200, 303)}
        print(f"  failed journeys: {dict(self.failures) or 'none'}; statuses other than 200/303: {other or 'none'}")

    def verify(self, database: Database, survey_id: int) -> list[str]:
        """Every finished journey stored once, and nothing else."""
        rows = database.query("SELECT reference, channel FROM responses WHERE survey_id = ?", (survey_id,))
        stored = {reference for reference, _channel in rows}
        shown = self.references
        problems = []
        if not shown:
            problems.append("no journey reached the confirmation page")
        if len(set(shown)) != len(shown):
            problems.append(f"{len(shown) - len(set(shown))} references were shown to two residents")
        if missing := set(shown) - stored:
            problems.append(
                f"{len(missing)} references shown on confirmation pages are not stored, e.g. {sorted(missing)[:3]}"
            )
        extra = len(stored) - len(set(shown))
        if extra > self.unknown_outcomes:
            problems.append(f"stored {len(stored):,} responses but {len(shown):,} journeys finished")
        if channels := {channel for _reference, channel in rows} - {"web"}:
            problems.append(f"responses on other channels: {channels}")
        if self.invited:
            ((used,),) = database.query(
                "SELECT count(*) FROM invitations WHERE survey_id = ? AND used_on IS NOT NULL", (survey_id,)
            )
            print(f"  invitations used: {used:,}")
            if used != len(stored):
                problems.append(f"{used:,} invitations used for {len(stored):,} stored responses")
        print(
            f"  stored {len(stored):,} responses / {len(shown):,} journeys reached the confirmation page"
            + (f" ({self.unknown_outcomes} cut off while submitting)" if self.unknown_outcomes else "")
        )
        return problems


class Resident:
    """One simulated resident at a time: each journey is a newcomer, with a new keep-alive
    connection (as a new browser opens; the server's workers share new connections out between
    them) and an empty cookie jar."""

    def __init__(
        self,
        server: LiveServer,
        tally: FlowTally,
        survey_id: int,
        max_picks: int,
        rng: random.Random,
        links: Iterator[str] | None = None,
    ) -> None:
        self.server, self.tally = server, tally
        self.survey_id, self.max_picks, self.rng = survey_id, max_picks, rng
        self.links = links  # --invited: the invitations' tokens, one per journey, shared by every resident
        self.connection: Connection | None = None
        self.cookies: dict[str, str] = {}
        self.host_header = f"Host: {server.host}:{server.port}\r\n".encode()

    def hang_up(self) -> None:
        """Close this resident's connection, if it has one."""
        if self.connection is not None and self.connection.transport is not None:
            self.connection.transport.close()
        self.connection = None

    async def _connection(self) -> Connection:
        if self.connection is None or not self.connection.usable():
            self.hang_up()
            loop = asyncio.get_running_loop()
            _transport, self.connection = await loop.create_connection(Connection, self.server.host, self.server.port)
        return self.connection

    async def request(
        self, method: str, target: str, step: str, form: list[tuple[str, str]] | None = None
    ) -> tuple[int, bytes, str]:
        """One request with this resident's cookies; returns status, header block and page."""
        lines = [f"{method} {target} HTTP/1.1\r\n".encode(), self.host_header]
        if self.cookies:
            lines.append(("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n").encode())
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            lines.append(b"Content-Type: application/x-www-form-urlencoded\r\n")
        lines.append(b"Content-Length: %d\r\n\r\n" % len(body))
        connection = await self._connection()
        started = time.perf_counter()
        status, head, page = await connection.exchange(b"".join(lines) + body)
        latency = time.perf_counter() - started
        tally = self.tally
        tally.statuses[status] += 1
        if tally.phase == "measure":
            tally.requests.append(latency)
            tally.by_step[f"{method} {step}"].append(latency)
        self._keep_cookies(head)
        return status, head, page.decode("utf-8", "replace")

    def _keep_cookies(self, head: bytes) -> None:
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() != b"set-cookie":
                continue
            pair, _, rest = value.decode("latin-1").strip().partition(";")
            cookie, _, content = pair.partition("=")
            removed = "max-age=0" in rest.lower().replace(" ", "") or "1970" in rest
            if removed or not content:
                self.cookies.pop(cookie.strip(), None)
            else:
                self.cookies[cookie.strip()] = content.strip()

    async def journey(self) -> str:
        """Answer the survey from its start page to the confirmation; returns the reference shown."""
        self.cookies = {}
        self.hang_up()  # the last resident has gone
        url = f"/surveys/{self.survey_id}"
        if self.links is not None:
            token = next(self.links, None)
            if token is None:
                raise JourneyFailed("start", 0, "no invitations left: run with more --invitations")
            url = f"/i/{token}"
        status, _head, page = await self.request("GET", url, "start")
        if status != 200:
            raise JourneyFailed("start", status)
        start = _START_LINK.search(page)
        if start is None:
            raise JourneyFailed("start", status, "no start button")
        url = urljoin(url, html.unescape(start.group(1)))
        for _ in range(40):  # a journey has about a dozen pages; a loop means something is wrong
            status, head, page = await self.request("GET", url, _step(url))
            status, head, page, url = await self._follow(status, head, page, url)
            if url.rstrip("/").endswith("/done"):
                found = REFERENCE.search(page)
                if status != 200 or found is None:
                    raise JourneyFailed("done", status, "no reference on the confirmation page")
                return found.group(0)
            if status != 200:
                raise JourneyFailed(_step(url), status)
            form = read_form(page)
            if form is None:
                raise JourneyFailed(_step(url), status, "no form")
            target = urljoin(url, form.action) if form.action else url
            step = _step(target)
            try:
                status, head, page = await self.request("POST", target, step, fill(form, self.rng, self.max_picks))
            except ConnectionError:
                if step == "check":
                    self.tally.unknown_outcomes += 1
                raise
            if status != 303:
                raise JourneyFailed(step, status, "answer refused" if status == 422 else "")
            url = urljoin(target, _location(head))
            if url.rstrip("/").endswith("/done"):
                continue
        raise JourneyFailed(_step(url), 0, "too many pages")

    async def _follow(self, status: int, head: bytes, page: str, url: str) -> tuple[int, bytes, str, str]:
        """Follow redirects after a GET (a page visited out of order sends the resident back)."""
        for _ in range(5):
            if status not in (301, 302, 303, 307, 308):
                break
            url = urljoin(url, _location(head))
            status, head, page = await self.request("GET", url, _step(url))
        return status, head, page, url


def _location(head: bytes) -> str:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"location":
            return value.strip().decode("latin-1")
    raise JourneyFailed("redirect", 0, "no Location")


def _step(url: str) -> str:
    """A page's name for the per-step table: the path after /surveys/{id}, without ids or keys."""
    parts = urlsplit(url).path.strip("/").split("/")  # surveys, id, page[, key]
    return parts[2] if len(parts) > 2 else "start"


# --- the run -----------------------------------------------------------------------------------------


class Residents:
    """Residents answering at once, each journey after journey until the run drains."""

    def __init__(
        self, server: LiveServer, survey_id: int, max_picks: int, args: argparse.Namespace, links: list[str]
    ) -> None:
        self.tally = FlowTally(invited=args.invited)
        rng = random.Random(args.seed)
        shared = iter(links) if args.invited else None
        self.residents = [
            Resident(server, self.tally, survey_id, max_picks, random.Random(rng.random()), shared)
            for _ in range(args.residents)
        ]
        self.loops: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Send every resident on their way."""
        self.loops = [asyncio.create_task(self.journeys(resident)) for resident in self.residents]

    async def journeys(self, resident: Resident) -> None:
        """Journeys back to back until the run ends."""
        tally = self.tally
        while tally.phase != "drain":
            started = time.perf_counter()
            try:
                reference = await resident.journey()
            except JourneyFailed as exc:
                tally.failures[f"{exc.step} {exc.status}"] += 1
                await asyncio.sleep(0.05)
                continue
            except (ConnectionError, OSError) as exc:
                tally.failures[type(exc).__name__] += 1
                resident.hang_up()
                await asyncio.sleep(0.05)
                continue
            tally.references.append(reference)
            if tally.phase == "measure":
                duration = time.perf_counter() - started
                tally.journeys.append(duration)
                tally.window_count += 1
                tally.window_latencies.append(duration)

    async def drain(self) -> None:
        """Let the journeys under way finish (a minute at most), then hang up."""
        self.tally.phase = "drain"
        _done, pending = await asyncio.wait(self.loops, timeout=60)
        for task in pending:
            task.cancel()
        for resident in self.residents:
            resident.hang_up()


# --invited: the tokens of the invitations made before the server starts, in the order journeys take them.
_LINKS: list[str] = []


def invite_members(database_url: str, survey_id: int, count: int) -> None:
    """Make the survey a members survey and invite ``count`` new members to it (before the server starts)."""
    started = time.perf_counter()
    publish_members_survey_at(database_url, survey_id)
    codes = [district.code for district in districts()]
    _LINKS.extend(invite_many_at(database_url, LIVE_SERVER_SECRET_KEY, survey_id, codes, count))
    print(f"invited {count:,} members in {time.perf_counter() - started:.1f} s", flush=True)


def drive(server: LiveServer, survey_id: int, args: argparse.Namespace) -> Tally:
    """Residents answering the survey at once: warm up, measure, then let journeys under way finish."""
    survey = server.get_json(f"/api/v1/surveys/{survey_id}")
    max_picks: int = survey["max_picks"]  # type: ignore[index]
    return measure(server, args, lambda: Residents(server, survey_id, max_picks, args, _LINKS))


def main() -> int:
    """Run the benchmark; exit 1 if the stored responses are not the finished journeys."""
    args = parse_arguments(
        __doc__,
        "--residents",
        "residents answering at once [64]",
        extra=[
            (("--invited",), {"action": "store_true", "help": "a members survey, each journey from /i/TOKEN"}),
            (("--invitations",), {"type": int, "default": 30_000, "help": "members invited with --invited [30000]"}),
        ],
    )
    sessions = "Redis" if os.environ.get("TALKING_REDIS_URL") else "the database"
    invited = ", invited (each journey from /i/TOKEN)" if args.invited else ""
    return run_benchmark(
        "flow",
        args,
        drive,
        detail=f", {args.residents} residents{invited}",
        setting=f"{args.residents} residents at once{invited}, sessions in {sessions}",
        prepare=(lambda url, survey_id: invite_members(url, survey_id, args.invitations)) if args.invited else None,
    )


if __name__ == "__main__":
    sys.exit(main())
