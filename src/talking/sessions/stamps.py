"""Write stamps shared by every worker: may a session this process remembers have changed since?

Each worker remembers the sessions it last read or wrote (``sqlite_file.SessionFile``), so that a
resident's next request needs no read of the sessions file: under load that read was a tenth of a
page's CPU (benchmarks/flow.py). Another worker may have written the session in the meantime;
this table says so, without a system call.

The table is a small file beside the sessions file (``talking.sessions.db`` ->
``talking.sessions.db-stamps``), mapped into the memory of every process that opens it: 65,536
slots of 64 bits. A session key hashes to a slot (CRC-32, the same in every process). Every write
to the sessions file goes through ``write``, which holds an exclusive ``flock`` on the table from
before the write until it has moved the key's slot on to a new stamp, so stamps change in the
order the writes commit. A worker trusts a value it remembers only while the key's slot still
holds the stamp it read just before reading the value (or set just after writing it). Keys that
share a slot only cost an extra read, never a stale value.

The one window: a request running at the very moment another worker commits the same session
may see the value from before that commit. A request that follows the write cannot, because the
writer moves the stamp on before it answers. (Two requests at once for one session already race
in any session store: the last write wins.)

The file holds nothing that must be kept and is created on first use. Delete it (or the sessions
file) only while the service is stopped: a worker keeps using the file it opened.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import sqlite3
import zlib
from collections.abc import Callable
from pathlib import Path

SLOTS = 1 << 16
_SLOT_BYTES = 8  # one unsigned 64-bit stamp
_STAMP_MASK = (1 << 64) - 1


class StampsBusy(sqlite3.OperationalError):
    """Another worker is writing a session: wait and try again, as for SQLite's own write lock."""

    sqlite_errorcode = sqlite3.SQLITE_BUSY  # what talking.db.engine.is_sqlite_busy looks for


class SessionStamps:
    """One process's view of the shared table of write stamps."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(self._fd).st_size != SLOTS * _SLOT_BYTES:
                self._lock()  # a new file: one process sizes it (new slots read as zero)
                try:
                    os.ftruncate(self._fd, SLOTS * _SLOT_BYTES)
                finally:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._map = mmap.mmap(self._fd, SLOTS * _SLOT_BYTES, mmap.MAP_SHARED)
        except BaseException:
            os.close(self._fd)
            raise
        self._slots = memoryview(self._map).cast("Q")

    @staticmethod
    def slot(key: str) -> int:
        """The slot of a session key: the same in every process (Python's own hash is not)."""
        return zlib.crc32(key.encode()) & (SLOTS - 1)

    def stamp(self, key: str) -> int:
        """The current stamp of ``key``'s slot."""
        return self._slots[self.slot(key)]

    def write(self, key: str | None, write: Callable[[], None]) -> int:
        """Run ``write`` (one committed change to ``key``, or to every key for None) and move the
        stamp on before any other worker can write; returns the new stamp.

        The stamp moves on even if ``write`` fails: whatever it left behind, no copy of the value
        from before is trusted. Raises ``StampsBusy`` at once if another worker is writing.
        """
        self._lock()
        try:
            try:
                write()
            finally:
                stamp = self._move_on(key)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        return stamp

    def close(self) -> None:
        """Unmap and close the table."""
        self._slots.release()
        self._map.close()
        os.close(self._fd)

    def _lock(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StampsBusy("another worker is writing a session") from None

    def _move_on(self, key: str | None) -> int:
        """Give ``key``'s slot (every slot, for None) a stamp it has not had; caller holds the lock."""
        if key is None:
            for slot in range(SLOTS):
                self._slots[slot] = (self._slots[slot] + 1) & _STAMP_MASK
            return 0
        slot = self.slot(key)
        stamp = self._slots[slot] = (self._slots[slot] + 1) & _STAMP_MASK
        return stamp
