"""Logs: plain lines by default, or one JSON object per line (TALKING_LOG_FORMAT=json) carrying the id
of the request being served, the same id the response carries in its ``X-Request-Id`` header.

The request id is kept in a context variable, which asyncio copies into every task a request
starts, so any log line written while serving a request names it. A caller may send its own
``X-Request-Id`` (a proxy's, to follow one request through both logs); anything else gets a new one.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from talking.security import random_token

# The id of the request this code is serving, or None outside any request.
request_id: ContextVar[str | None] = ContextVar("talking_request_id", default=None)

# What we accept from a caller: short, plain characters (it goes into headers and logs unquoted).
_CALLERS_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
# The logger for one line per request (JSON logs only): method, path, status, time taken.
access_log = logging.getLogger("talking.access")
# An invitation's link carries its member's token in the path (/i/TOKEN, /i/TOKEN/details). A log
# line keeping it would tie a member to when they came to answer: the token is left out.
_INVITATION_PATH = re.compile(r"^/i/[^/]+")


def loggable_path(path: str) -> str:
    """A request's path as the access log writes it: an invitation's token replaced by ``{token}``."""
    return _INVITATION_PATH.sub("/i/{token}", path) if path.startswith("/i/") else path


def request_id_from(headers: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...]) -> str:
    """The caller's X-Request-Id when it is a sound one, else a new id of ours."""
    for name, value in headers:
        if name == b"x-request-id" and _CALLERS_ID.fullmatch(value):
            return value.decode("ascii")
    return _new_request_ids.next()


class _RequestIds:
    """New request ids: this process's random prefix and a count, e.g. ``Xq3v9TfK2mQa-1f``.

    An id must be unique, not secret: it only names a request in logs. A random prefix per process
    (72 bits: workers, restarts and servers never share one) and a count cost a tenth of drawing
    random bytes for each request, which showed in the submissions' profile (about 3 microseconds).
    A forked process draws a prefix of its own.
    """

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self._prefix = random_token(9) + "-"
        self._count = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._count):x}"


_new_request_ids = _RequestIds()
os.register_at_fork(after_in_child=_new_request_ids.renew)


class JsonLines(logging.Formatter):
    """Each record as one JSON object on one line: time, level, logger, message, request id, extras."""

    # The attributes every LogRecord has; anything else was passed in ``extra=`` and is kept.
    _STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        entry.update({key: value for key, value in record.__dict__.items() if key not in self._STANDARD})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


# Granian's own lines (start-up, workers) as JSON too: its logging set-up, with our formatter.
GRANIAN_JSON_CONFIG = {
    "formatters": {"generic": {"()": "talking.logs.JsonLines"}, "access": {"()": "talking.logs.JsonLines"}}
}


def configure(log_format: str) -> None:
    """Set up logging for a worker: JSON lines on standard error, or leave Python's defaults (text)."""
    if log_format != "json":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
