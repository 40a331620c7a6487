"""Group commit: one writer task per worker stores queued responses a batch per transaction.

Python CPU per request, not the database, limits how fast responses arrive; an ORM session and a
COMMIT per request would cap us near 2,000/s. Instead each request queues its validated answers
and waits; the writer takes everything queued, writes it in one transaction, and only after
COMMIT resolves each waiting request. So a 201 always means committed (SQLite runs with
synchronous=FULL), and batches grow by themselves under load while staying at one response
when traffic is light.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
from sqlalchemy import Connection, Engine, bindparam, insert, select, tuple_
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.engine import retry_while_busy_sync, writer_engine
from talking.db.models import response_answers, responses, surveys
from talking.reports import tallies
from talking.surveys.errors import IdempotencyConflict, SurveyNotOpen
from talking.surveys.schemas import Receipt, ResponseCreate

log = logging.getLogger(__name__)

# How many times the writer steps aside for ready requests before taking a batch (see _run).
_GATHER_ROUNDS = 4

# Crockford's base32 without I, L, O, U: easy to read aloud and type from a confirmation page.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _REFERENCE_ALPHABET)
# What a reference looks like, for whoever needs to find one in a page or a receipt.
REFERENCE_PATTERN = f"LT-[{_REFERENCE_ALPHABET}]{{4}}-[{_REFERENCE_ALPHABET}]{{4}}"


def new_references(count: int) -> list[str]:
    """``count`` random confirmation references such as ``LT-7K3M-9QX2`` (40 bits each)."""
    # One read of the OS's random source for the whole batch (a read per reference was a sixth of
    # the writer's time), spelled out by base32 (5 bytes: 8 characters) in Crockford's letters.
    spelled = base64.b32encode(secrets.token_bytes(5 * count)).decode().translate(_TO_CROCKFORD)
    return [f"LT-{spelled[start : start + 4]}-{spelled[start + 4 : start + 8]}" for start in range(0, 8 * count, 8)]


def request_digest(response: ResponseCreate) -> bytes:
    """A fingerprint of the answers, to tell a true retry from a reused Idempotency-Key."""
    return hashlib.sha256(msgspec.json.encode(response)).digest()


@dataclass(slots=True)
class PendingResponse:
    """A validated response waiting for its batch to commit."""

    survey_id: int
    district: str
    picks: tuple[str, ...]
    comment: str | None
    age_band: str | None
    sex: str | None
    channel: str
    idempotency_key: str | None = None
    digest: bytes | None = None
    # Extra questions' answers as (question key, stored text); see services.encode_answers.
    answers: tuple[tuple[str, str], ...] = ()
    # Only the demo loader backdates answers; live responses are stamped at commit.
    submitted_at: datetime | None = None
    future: asyncio.Future[Receipt] | None = field(default=None, repr=False)


class ResponseWriter:
    """Owns the submission path's writes for one worker process.

    A task on the event loop gathers each batch and stores it: on SQLite in one call on a thread
    of its own (a synchronous connection, see writer_engine), on PostgreSQL through the async
    driver. A thread that took its batches by itself kept busier under load but measured no
    faster, and it slowed the resident pages by a fifth: woken for each response as it came,
    it wrote smaller batches and took the GIL from the page rendering more often.
    """

    def __init__(self, engine: AsyncEngine, max_batch: int = 256) -> None:
        self.engine = writer_engine(engine)
        # SQLite: the thread that runs every transaction of this writer, one at a time.
        self._thread = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="response-writer")
            if isinstance(self.engine, Engine)
            else None
        )
        self.max_batch = max_batch
        self._queue: asyncio.Queue[PendingResponse] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the writer task on the running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="response-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._thread is not None:  # SQLite: its own engine and thread (see writer_engine)
            self._thread.shutdown(wait=True)
            self.engine.dispose()

    async def submit(self, pending: PendingResponse) -> Receipt:
        """Queue one response and wait until it is committed (or refused)."""
        if self._task is None:
            raise RuntimeError("ResponseWriter.start() was not called")
        pending.future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(pending)
        return await pending.future

    async def store_now(self, batch: list[PendingResponse]) -> list[Receipt]:
        """Store a batch directly, without the queue (the demo loader's and the tests' bulk path).

        Raises the first refusal, if any (the others are stored): a bulk load quietly missing
        answers would mislead whoever reads its reports.
        """
        outcomes = await self._store(batch)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return outcomes  # type: ignore[return-value]

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            # Let requests already received finish validating first, so they join this batch: fewer,
            # bigger transactions, and no added wait (only work that is ready to run runs).
            for _ in range(_GATHER_ROUNDS):
                queued = self._queue.qsize()
                await asyncio.sleep(0)
                if self._queue.qsize() == queued:
                    break
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                outcomes = await self._store(batch)
            except Exception as exc:  # the database is down: every waiting request must hear of it
                log.exception("could not store a batch of %d responses", len(batch))
                outcomes = [exc] * len(batch)
            for pending, outcome in zip(batch, outcomes, strict=True):
                assert pending.future is not None
                if not pending.future.done():  # the client may have gone away
                    if isinstance(outcome, BaseException):
                        pending.future.set_exception(outcome)
                    else:
                        pending.future.set_result(outcome)
                self._queue.task_done()

    async def _store(self, batch: list[PendingResponse]) -> list[Receipt | BaseException]:
        if self._thread is not None:  # SQLite: the whole transaction in one call on the writer's thread
            assert isinstance(self.engine, Engine)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._thread, store_batch, self.engine.begin, batch)
        assert isinstance(self.engine, AsyncEngine)
        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda sync: store_batch(functools.partial(_transaction_on, sync), batch))


# Opens a transaction, entered as ``with begin() as conn``: ``Engine.begin``, or ``_transaction_on``.
Begin = Callable[[], AbstractContextManager[Connection]]


@contextlib.contextmanager
def _transaction_on(conn: Connection) -> Iterator[Connection]:
    """A transaction on an open connection, entered as ``with ... as conn`` like ``Engine.begin``."""
    with conn.begin():
        yield conn


def store_batch(begin: Begin, batch: list[PendingResponse]) -> list[Receipt | BaseException]:
    """Store a batch in one transaction; if it fails as a whole, each response alone, so that one
    cannot sink the rest.

    Synchronous so that one function serves both engines:
    SQLite's runs on the writer's own thread (where waiting for another worker's write lock holds
    up nothing else), PostgreSQL's through ``AsyncConnection.run_sync``.
    """
    try:
        return _store_in_one_transaction(begin, batch)
    except (IntegrityError, DBAPIError) as exc:
        if len(batch) == 1:
            # A concurrent retry with the same Idempotency-Key may have won: look again once.
            if isinstance(exc, IntegrityError):
                return _store_in_one_transaction(begin, batch)
            raise
        log.warning("batch of %d failed (%s); storing one by one", len(batch), exc.__class__.__name__)
    outcomes: list[Receipt | BaseException] = []
    for pending in batch:
        try:
            outcomes.extend(_store_in_one_transaction(begin, [pending]))
        except (IntegrityError, DBAPIError) as exc:
            outcomes.append(exc)
    return outcomes


def _store_in_one_transaction(begin: Begin, batch: list[PendingResponse]) -> list[Receipt | BaseException]:
    def attempt() -> _Written:
        with begin() as conn:
            return _write_batch(conn, batch)

    # Another worker may hold SQLite's write lock; nothing of ours was written: wait briefly.
    outcomes, claimed = retry_while_busy_sync(attempt, first_pause=0.0005)
    # Resolve in-batch retries only after COMMIT, against what their original got.
    for index, pending in enumerate(batch):
        if outcomes[index] is None:
            first = claimed[(pending.survey_id, pending.idempotency_key)]
            original = batch[first]
            outcome = outcomes[first]
            outcomes[index] = outcome if original.digest == pending.digest else IdempotencyConflict()
    return outcomes  # type: ignore[return-value]


# What a batch's transaction decided: an outcome per response (None for an in-batch retry, settled
# after COMMIT) and the index of the first use of each idempotency key in the batch.
_Written = tuple[list[Receipt | BaseException | None], dict[tuple[int, str], int]]


def _write_batch(conn: Connection, batch: list[PendingResponse]) -> _Written:
    """Check, then insert, a batch inside the caller's transaction.

    Called by ``store_batch``, inside its transaction, for either engine.
    """
    now = datetime.now(UTC)
    statuses, max_picks = _survey_statuses(conn, {p.survey_id for p in batch}, now)
    earlier = _earlier_results(conn, batch)
    outcomes: list[Receipt | BaseException | None] = [None] * len(batch)
    references = iter(new_references(len(batch)))
    to_insert: list[tuple[int, PendingResponse, str]] = []
    claimed: dict[tuple[int, str], int] = {}  # idempotency key -> index of its first use here
    for index, pending in enumerate(batch):
        status = statuses.get(pending.survey_id, "missing")
        key = (pending.survey_id, pending.idempotency_key) if pending.idempotency_key else None
        if status != "open":
            outcomes[index] = SurveyNotOpen(pending.survey_id, status)
        elif key and key in earlier:
            outcomes[index] = _replay(earlier[key], pending)
        elif key and key in claimed:
            continue  # a retry racing its original within one batch: answered after COMMIT
        else:
            if key:
                claimed[key] = index
            to_insert.append((index, pending, next(references)))
    if to_insert:
        ids = _insert(conn, to_insert, now)
        tallies.add_deltas(conn, tallies.batch_deltas(counted(to_insert, max_picks)))
        for (index, _pending, reference), response_id in zip(to_insert, ids, strict=True):
            outcomes[index] = Receipt(id=response_id, reference=reference)
    return outcomes, claimed


def counted(to_insert: list[tuple[int, PendingResponse, str]], max_picks: dict[int, int]) -> list[tallies.Counted]:
    """What the tallies need of the responses being inserted (``max_picks`` by survey id)."""
    return [
        tallies.Counted(p.survey_id, p.district, p.age_band, p.picks, p.comment, max_picks[p.survey_id])
        for _index, p, _reference in to_insert
    ]


def _replay(earlier: tuple[int, str, bytes | None], pending: PendingResponse) -> Receipt | BaseException:
    response_id, reference, digest = earlier
    if digest != pending.digest:
        return IdempotencyConflict()
    return Receipt(id=response_id, reference=reference)


# Built once: a statement made per batch (with .in_(a list)) cost SQLAlchemy 0.3 ms to build and
# cache-key, more than the query itself.
_SURVEY_STATUSES = select(
    surveys.c.id, surveys.c.status, surveys.c.opens_at, surveys.c.closes_at, surveys.c.max_picks
).where(surveys.c.id.in_(bindparam("ids", expanding=True)))


def _survey_statuses(conn: Connection, survey_ids: set[int], now: datetime) -> tuple[dict[int, str], dict[int, int]]:
    """Each survey's status as of now, read inside the writing transaction, and its number of picks."""
    rows = conn.execute(_SURVEY_STATUSES, {"ids": sorted(survey_ids)})
    statuses, max_picks = {}, {}
    for row in rows:
        status = row.status
        if status == "open" and row.opens_at is not None and now < row.opens_at:
            status = "not yet open"
        elif status == "open" and row.closes_at is not None and now >= row.closes_at:
            status = "past its closing time"
        statuses[row.id] = status
        max_picks[row.id] = row.max_picks
    return statuses, max_picks


def _earlier_results(
    conn: Connection, batch: list[PendingResponse]
) -> dict[tuple[int, str], tuple[int, str, bytes | None]]:
    """Responses already stored under the batch's idempotency keys."""
    keys = {(p.survey_id, p.idempotency_key) for p in batch if p.idempotency_key}
    if not keys:
        return {}
    rows = conn.execute(
        select(
            responses.c.survey_id,
            responses.c.idempotency_key,
            responses.c.id,
            responses.c.reference,
            responses.c.request_digest,
        ).where(tuple_(responses.c.survey_id, responses.c.idempotency_key).in_(list(keys)))
    )
    return {(r.survey_id, r.idempotency_key): (r.id, r.reference, r.request_digest) for r in rows}


# The inserts are plain SQL with positional parameters: SQLAlchemy's per-row parameter processing
# for a Core insert cost more than everything else in the transaction put together.
# PostgreSQL takes a whole batch as one array per column: one statement, prepared once, for any size.
_POSTGRES_INSERT_RESPONSES = (
    "INSERT INTO responses (survey_id, reference, district_code, comment, age_band, sex, channel, submitted_at,"
    " idempotency_key, request_digest, ranked_picks) SELECT * FROM unnest($1::int[], $2::varchar[], $3::varchar[],"
    " $4::text[], $5::varchar[], $6::varchar[], $7::varchar[], $8::timestamptz[], $9::varchar[], $10::bytea[],"
    " $11::text[])"
    " RETURNING id, reference"
)
_POSTGRES_INSERT_PICKS = (
    "INSERT INTO response_picks (response_id, rank, survey_id, issue_code)"
    " SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::int[], $4::varchar[])"
)
_SQLITE_INSERT_PICKS = "INSERT INTO response_picks (response_id, rank, survey_id, issue_code) VALUES (?, ?, ?, ?)"
_SQLITE_INSERT_RESPONSES = (
    "INSERT INTO responses (survey_id, reference, district_code, comment, age_band, sex, channel, submitted_at,"
    " idempotency_key, request_digest, ranked_picks) VALUES {rows} RETURNING id, reference"
)
# SQLite takes many VALUES rows in one statement; at most 90 rows of 11 keeps under the 999
# parameters that SQLite builds before 3.32 allow.
_SQLITE_ROWS_PER_INSERT = 90


@functools.cache
def _sqlite_insert_responses(rows: int) -> str:
    """INSERT ... RETURNING for this many rows of eleven parameters."""
    return _SQLITE_INSERT_RESPONSES.format(rows=", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * rows))


def _insert(conn: Connection, to_insert: list[tuple[int, PendingResponse, str]], now: datetime) -> list[int]:
    """Insert responses and their picks; returns the new ids in the order given."""
    dialect = conn.dialect
    # The columns' own conversions, as a Core insert would apply them (UTC timestamps, binary digests).
    stamp = responses.c.submitted_at.type.bind_processor(dialect) or _same
    binary = responses.c.request_digest.type.bind_processor(dialect) or _same
    stamped_now = stamp(now)
    rows = [
        (
            p.survey_id,
            reference,
            p.district,
            p.comment,
            p.age_band,
            p.sex,
            p.channel,
            stamped_now if p.submitted_at is None else stamp(p.submitted_at),
            p.idempotency_key,
            None if p.digest is None else binary(p.digest),
            " ".join(p.picks),
        )
        for _index, p, reference in to_insert
    ]
    if dialect.name == "postgresql":
        returned = list(conn.exec_driver_sql(_POSTGRES_INSERT_RESPONSES, tuple(map(list, zip(*rows, strict=True)))))
    else:
        returned = []
        for start in range(0, len(rows), _SQLITE_ROWS_PER_INSERT):
            chunk = rows[start : start + _SQLITE_ROWS_PER_INSERT]
            flat = tuple(value for row in chunk for value in row)
            returned.extend(conn.exec_driver_sql(_sqlite_insert_responses(len(chunk)), flat))
    # RETURNING rows from a multi-row insert need not come back in order: match them by reference.
    id_by_reference = {reference: response_id for response_id, reference in returned}
    ids = [id_by_reference[reference] for _index, _p, reference in to_insert]
    picks = [
        (response_id, rank, p.survey_id, code)
        for response_id, (_index, p, _reference) in zip(ids, to_insert, strict=True)
        for rank, code in enumerate(p.picks, start=1)
    ]
    if picks and dialect.name == "postgresql":
        conn.exec_driver_sql(_POSTGRES_INSERT_PICKS, tuple(map(list, zip(*picks, strict=True))))
    elif picks:
        conn.exec_driver_sql(_SQLITE_INSERT_PICKS, picks)
    answer_rows = [
        {"response_id": response_id, "question_key": key, "value": value}
        for response_id, (_index, p, _reference) in zip(ids, to_insert, strict=True)
        for key, value in p.answers
    ]
    if answer_rows:
        conn.execute(insert(response_answers), answer_rows)
    return ids


def _same(value: object) -> object:
    return value
