"""Every stored response of a survey as CSV, streamed: constant memory at any size.

One row per response, by district and then in the order they arrived: reference, time, channel,
district, picks in rank order, age band, sex, comment and each extra question. The database
sorts the survey's rows (spilling to disk if it must; since migration 0004 no index keeps them in
district order, as one cost every response written); this process holds one chunk at a time.
Picks come from the response's own `ranked_picks`, and extra answers by primary-key look-ups.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from talking.db.models import survey_questions, surveys
from talking.errors import SurveyNotFound
from talking.reference import districts_by_code
from talking.reports.exports import safe_text

ROWS_PER_CHUNK = 2_000


async def _columns(conn: AsyncConnection, survey_id: int) -> tuple[int, list[str]]:
    max_picks = (await conn.execute(select(surveys.c.max_picks).where(surveys.c.id == survey_id))).scalar_one_or_none()
    if max_picks is None:
        raise SurveyNotFound(survey_id)
    keys = (
        await conn.execute(
            select(survey_questions.c.key)
            .where(survey_questions.c.survey_id == survey_id)
            .order_by(survey_questions.c.position)
        )
    ).scalars()
    return max_picks, list(keys)


def _query(keys: list[str]):
    """SELECT with a column per extra question; the keys are bound, only integers go into the text."""
    answers = "".join(
        f", (SELECT a.value FROM response_answers a WHERE a.response_id = r.id AND a.question_key = :key_{i})"  # noqa: S608
        for i in range(len(keys))
    )
    sql = (
        "SELECT r.reference, r.submitted_at, r.channel, r.district_code, r.age_band, r.sex, r.comment,"  # noqa: S608
        f" r.ranked_picks{answers} FROM responses r WHERE r.survey_id = :survey_id ORDER BY r.district_code, r.id"
    )
    return text(sql).bindparams(*(bindparam(f"key_{i}", key) for i, key in enumerate(keys)))


async def stream_responses_csv(conn: AsyncConnection, survey_id: int) -> AsyncIterator[bytes]:
    """Yield the CSV in chunks of rows; raises SurveyNotFound before the first chunk."""
    max_picks, keys = await _columns(conn, survey_id)
    names = {code: d.name for code, d in districts_by_code().items()}
    header = ["reference", "submitted_at", "channel", "district_code", "district_name"]
    header += [f"pick_{rank}" for rank in range(1, max_picks + 1)]
    header += ["age_band", "sex", "comment"] + [f"question_{key}" for key in keys]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    yield out.getvalue().encode()
    result = await conn.stream(_query(keys), {"survey_id": survey_id})
    blank = ("",) * max_picks

    def line(row) -> list[object]:
        reference, submitted, channel, district, age, sex, comment, ranked, *answers = row
        picks = ranked.split()
        # csv writes None as an empty cell
        return [
            reference,
            _iso(submitted),
            channel,
            district,
            names.get(district),
            *picks,
            *blank[len(picks) :],
            age,
            sex,
            safe_text(comment),
            *map(safe_text, answers),
        ]

    async for chunk in result.partitions(ROWS_PER_CHUNK):
        out.seek(0)
        out.truncate()
        writer.writerows(map(line, chunk))
        yield out.getvalue().encode()


def _iso(value: datetime | str) -> str:
    """ISO 8601 in UTC to the second. SQLite hands back its stored text (UTC, see UTCDateTime):
    reshaping it is far cheaper than parsing a datetime per row."""
    if isinstance(value, str):
        return value[:10] + "T" + value[11:19] + "Z"
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
