"""One batch of responses in one transaction: check, insert, count in the tallies, then answer each.

The synchronous half of group commit (writer.py is the other): one function, ``store_batch``,
serves both engines. SQLite's runs on the writer's own thread, where waiting for another worker's
write lock holds up nothing else; PostgreSQL's through ``AsyncConnection.run_sync``. Each response
hears its outcome only from what was committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
from sqlalchemy import Connection, bindparam, insert, select, tuple_, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from talking import tallies
from talking.db.engine import retry_while_busy_sync
from talking.db.models import invitations, response_answers, responses, surveys
from talking.errors import IdempotencyConflict, InvitationUsed, SurveyNotOpen
from talking.outages import outage_of
from talking.surveys.references import new_references
from talking.surveys.schemas import Receipt, ResponseCreate

log = logging.getLogger(__name__)


# Without an invitation, the answers are fingerprinted as they were before the field existed, so that
# a retry of a request made before the upgrade is still recognised as one.
_NO_INVITATION = b',"invitation":null}'


def request_digest(response: ResponseCreate) -> bytes:
    """A fingerprint of the answers, to tell a true retry from a reused Idempotency-Key."""
    encoded = msgspec.json.encode(response)
    if encoded.endswith(_NO_INVITATION):
        encoded = encoded[: -len(_NO_INVITATION)] + b"}"
    return hashlib.sha256(encoded).digest()


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
    # The resident's browser had already answered this survey (see journey.answered_before).
    repeat_in_browser: bool = False
    # The SHA-256 of the invitation's token (members surveys): claimed in the same transaction.
    invitation: bytes | None = None
    future: asyncio.Future[Receipt] | None = field(default=None, repr=False)


# Opens a transaction, entered as ``with begin() as conn``: ``Engine.begin``, or ``transaction_on``.
Begin = Callable[[], AbstractContextManager[Connection]]


@contextlib.contextmanager
def transaction_on(conn: Connection) -> Iterator[Connection]:
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
        if outage_of(exc) is not None:
            raise  # the database is out of reach: one by one would only fail as many times again
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
    if any(pending.invitation is not None for _index, pending, _reference in to_insert):
        to_insert = _claim_invitations(conn, to_insert, outcomes, now)
    if to_insert:
        ids = _insert(conn, to_insert, now)
        tallies.add_deltas(conn, tallies.batch_deltas(counted(to_insert, max_picks)))
        for (index, _pending, reference), response_id in zip(to_insert, ids, strict=True):
            outcomes[index] = Receipt(id=response_id, reference=reference)
    return outcomes, claimed


def _claim_invitations(
    conn: Connection,
    to_insert: list[tuple[int, PendingResponse, str]],
    outcomes: list[Receipt | BaseException | None],
    now: datetime,
) -> list[tuple[int, PendingResponse, str]]:
    """Mark the batch's invitations used, in one statement; what is left to insert.

    One answer per invitation is the database's to enforce, not a check before the write: the
    UPDATE claims only rows still unused, and only in this transaction, so of two answers to one
    invitation (in this batch, in another worker's, or on another server) exactly one claims it,
    and the other is refused with nothing stored. If the batch's transaction fails, the claims go
    with it. Only the day is recorded: the time of answering would link the invitation to the
    response (see docs/architecture.md, "One answer per invitation").
    """
    wanted = sorted({(pending.survey_id, pending.invitation) for _i, pending, _r in to_insert if pending.invitation})
    claimed = {
        (row.survey_id, row.token_hash)
        for row in conn.execute(
            update(invitations)
            .where(
                tuple_(invitations.c.survey_id, invitations.c.token_hash).in_(wanted), invitations.c.used_on.is_(None)
            )
            .values(used_on=now.date())
            .returning(invitations.c.survey_id, invitations.c.token_hash)
        )
    }
    kept = []
    for item in to_insert:
        index, pending, _reference = item
        if pending.invitation is None:
            kept.append(item)
        elif (pending.survey_id, pending.invitation) in claimed:
            claimed.discard((pending.survey_id, pending.invitation))  # a second use in this batch is refused
            kept.append(item)
        else:
            outcomes[index] = InvitationUsed()
    return kept


def counted(to_insert: list[tuple[int, PendingResponse, str]], max_picks: dict[int, int]) -> list[tallies.Counted]:
    """What the tallies need of the responses being inserted (``max_picks`` by survey id)."""
    return [
        tallies.Counted(p.survey_id, p.district, p.age_band, p.sex, p.picks, p.comment, max_picks[p.survey_id])
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


# PostgreSQL looks the keys up by joining the unique index against the batch's keys as arrays.
# The row-value IN form (kept for SQLite) was planned from the table's statistics: when they were
# stale it went through the survey index and filtered, 9-10 ms a batch at 179k rows and growing.
# Every probe here is an equality on both columns of uq_responses_idempotency, which returns at most
# one row whatever the statistics say, so the planner takes that index (EXPLAIN: benchmarks/idempotency_plan.py).
POSTGRES_EARLIER_RESULTS = (
    "SELECT r.survey_id, r.idempotency_key, r.id, r.reference, r.request_digest"
    " FROM unnest($1::int[], $2::varchar[]) AS k(survey_id, idempotency_key)"
    " JOIN responses r ON r.survey_id = k.survey_id AND r.idempotency_key = k.idempotency_key"
)


def _earlier_results(
    conn: Connection, batch: list[PendingResponse]
) -> dict[tuple[int, str], tuple[int, str, bytes | None]]:
    """Responses already stored under the batch's idempotency keys."""
    keys = sorted({(p.survey_id, p.idempotency_key) for p in batch if p.idempotency_key})
    if not keys:
        return {}
    if conn.dialect.name == "postgresql":
        survey_ids, idempotency_keys = map(list, zip(*keys, strict=True))
        rows = conn.exec_driver_sql(POSTGRES_EARLIER_RESULTS, (survey_ids, idempotency_keys))
    else:
        rows = conn.execute(
            select(
                responses.c.survey_id,
                responses.c.idempotency_key,
                responses.c.id,
                responses.c.reference,
                responses.c.request_digest,
            ).where(tuple_(responses.c.survey_id, responses.c.idempotency_key).in_(keys))
        )
    return {(r.survey_id, r.idempotency_key): (r.id, r.reference, r.request_digest) for r in rows}


# The inserts are plain SQL with positional parameters: SQLAlchemy's per-row parameter processing
# for a Core insert cost more than everything else in the transaction put together.
# PostgreSQL takes a whole batch as one array per column: one statement, prepared once, for any size.
_POSTGRES_INSERT_RESPONSES = (
    "INSERT INTO responses (survey_id, reference, district_code, comment, age_band, sex, channel, submitted_at,"
    " idempotency_key, request_digest, ranked_picks, repeat_in_browser) SELECT * FROM unnest($1::int[],"
    " $2::varchar[], $3::varchar[], $4::text[], $5::varchar[], $6::varchar[], $7::varchar[], $8::timestamptz[],"
    " $9::varchar[], $10::bytea[], $11::text[], $12::boolean[])"
    " RETURNING id, reference"
)
_POSTGRES_INSERT_PICKS = (
    "INSERT INTO response_picks (response_id, rank, survey_id, issue_code)"
    " SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::int[], $4::varchar[])"
)
_SQLITE_INSERT_PICKS = "INSERT INTO response_picks (response_id, rank, survey_id, issue_code) VALUES (?, ?, ?, ?)"
_SQLITE_INSERT_RESPONSES = (
    "INSERT INTO responses (survey_id, reference, district_code, comment, age_band, sex, channel, submitted_at,"
    " idempotency_key, request_digest, ranked_picks, repeat_in_browser) VALUES {rows} RETURNING id, reference"
)
# SQLite takes many VALUES rows in one statement; at most 83 rows of 12 keeps under the 999
# parameters that SQLite builds before 3.32 allow.
_SQLITE_ROWS_PER_INSERT = 83


@functools.cache
def _sqlite_insert_responses(rows: int) -> str:
    """INSERT ... RETURNING for this many rows of twelve parameters."""
    return _SQLITE_INSERT_RESPONSES.format(rows=", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * rows))


def _insert(conn: Connection, to_insert: list[tuple[int, PendingResponse, str]], now: datetime) -> list[int]:
    """Insert responses and their picks; returns the new ids in the order given."""
    dialect = conn.dialect
    # The columns' own conversions, as a Core insert would apply them (UTC timestamps, binary digests).
    stamp = responses.c.submitted_at.type.bind_processor(dialect) or _same
    binary = responses.c.request_digest.type.bind_processor(dialect) or _same
    stamped_now = stamp(now)
    # An invited answer is stamped with its day only, as its invitation's used_on is: a time would
    # let whoever reads both tables match the two in a small survey.
    stamped_today = stamp(now.replace(hour=0, minute=0, second=0, microsecond=0))
    rows = [
        (
            p.survey_id,
            reference,
            p.district,
            p.comment,
            p.age_band,
            p.sex,
            p.channel,
            stamp(p.submitted_at) if p.submitted_at else stamped_today if p.invitation else stamped_now,
            p.idempotency_key,
            None if p.digest is None else binary(p.digest),
            " ".join(p.picks),
            p.repeat_in_browser,
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
