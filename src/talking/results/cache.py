"""Public results, served from memory: each worker keeps what it rendered until the results stamp moves.

Results are read far more than written, and only staff change them (a publication, a withdrawal,
a quote, an update). Every such change bumps one row, ``results_stamp.version``, in its own
transaction. Each worker remembers rendered pages, feeds and files with the version they were made
at, and reads the stamp (one primary-key row) at most every ``CHECK_SECONDS``: when it has moved,
everything remembered is dropped. So the cache is right across every worker and app server that
shares the database, with no Redis needed, and a change shows everywhere within CHECK_SECONDS
(at once on the worker that made it, which forgets as soon as it has committed). Reading the stamp
on every request instead would cost a database round trip per page, most of what a page costs here.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from talking.results.services import read_stamp

T = TypeVar("T")
CHECK_SECONDS = 0.25
# Rendered into a remembered page instead of the response's CSP nonce, replaced on the way out.
NONCE_STAND_IN = "nonce" + secrets.token_hex(16)


class ResultsCache:
    """What this worker rendered of the public results, valid while the results stamp stays the same."""

    def __init__(self, engine: AsyncEngine, *, size: int = 1024, check_seconds: float = CHECK_SECONDS) -> None:
        self.engine = engine
        self.size = size
        self.check_seconds = check_seconds
        self._version: int | None = None
        self._checked_at = float("-inf")
        self._checking: asyncio.Future[None] | None = None
        self._entries: OrderedDict[Any, Any] = OrderedDict()

    async def get(self, key: Any, build: Callable[[], Awaitable[T]]) -> T:
        """The remembered value for ``key``, or ``build()``'s, remembered (a builder raising is not)."""
        await self._check()
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        version = self._version
        value = await build()
        if version == self._version:  # not if the stamp moved while building: it may be stale
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    async def held(self, key: Any) -> Any | None:
        """The remembered value for ``key`` if this worker holds it at the current stamp, else None."""
        await self._check()
        return self._entries.get(key)

    def forget(self) -> None:
        """Drop everything and read the stamp on the next request (after this worker committed a change)."""
        self._entries.clear()
        self._checked_at = float("-inf")

    async def _check(self) -> None:
        """Read the stamp if it is time; one read at a time, the others wait for it."""
        if time.monotonic() - self._checked_at < self.check_seconds:
            return
        if self._checking is not None:
            await asyncio.shield(self._checking)
            return
        self._checking = asyncio.get_running_loop().create_future()
        try:
            async with self.engine.connect() as conn:
                version = await read_stamp(conn)
            if version != self._version:
                self._entries.clear()
                self._version = version
            self._checked_at = time.monotonic()
        finally:
            checking, self._checking = self._checking, None
            checking.set_result(None)
