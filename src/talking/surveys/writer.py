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
import contextlib
import functools
import logging
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from talking import metrics
from talking.db.engine import writer_engine
from talking.outages import note_outage, outage_of
from talking.surveys.batches import PendingResponse, store_batch, transaction_on
from talking.surveys.schemas import Receipt

log = logging.getLogger(__name__)

# How many times the writer steps aside for ready requests before taking a batch (see _run).
_GATHER_ROUNDS = 4


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
            metrics.writer_batch_size.observe(len(batch))
            metrics.writer_queue_depth.set(self._queue.qsize())
            try:
                outcomes = await self._store(batch)
            except Exception as exc:  # the database is down: every waiting request must hear of it (503)
                metrics.database_errors.labels("writer").inc()
                if (outage := outage_of(exc)) is not None:
                    note_outage(outage, "storing a batch of responses", log)
                else:
                    log.exception("could not store a batch of %d responses", len(batch))
                outcomes = [exc] * len(batch)
            metrics.responses_stored.inc(sum(1 for outcome in outcomes if isinstance(outcome, Receipt)))
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
            return await conn.run_sync(lambda sync: store_batch(functools.partial(transaction_on, sync), batch))
