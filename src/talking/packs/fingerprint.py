"""The fingerprint of the answers a report used: SHA-256 over every response's id and answers, in id order.

Read in keyset chunks (id > last id), so memory stays flat at a million responses and neither
engine holds a cursor open across chunks. Each response is one JSON array and a newline, so no
comment, however odd, can make two different sets of answers hash alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
from sqlalchemy import Connection, select

from talking.db.models import responses

CHUNK = 20_000
ALGORITHM = "sha256"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The hash (hex) and how many responses went into it."""

    value: str
    responses: int


def answers_fingerprint(
    conn: Connection, survey_id: int, *, progress: Callable[[int], None] | None = None
) -> Fingerprint:
    """Fingerprint a survey's responses as stored now: what the report reads (district, picks, about you, comment).

    The survey id goes in first, so two surveys with the same answers differ.
    """
    digest = hashlib.sha256(b"talking-answers/1\n%d\n" % survey_id)
    r = responses.c
    columns = (r.id, r.district_code, r.ranked_picks, r.age_band, r.sex, r.comment)
    last_id, count = 0, 0
    while True:
        query = select(*columns).where(r.survey_id == survey_id, r.id > last_id).order_by(r.id).limit(CHUNK)
        rows = conn.execute(query).all()
        if not rows:
            break
        digest.update(b"".join(msgspec.json.encode(list(row)) + b"\n" for row in rows))
        last_id, count = rows[-1][0], count + len(rows)
        if progress is not None:
            progress(len(rows))
    return Fingerprint(digest.hexdigest(), count)
