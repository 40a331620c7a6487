"""Making, reading and verifying packs. A pack is written once and never changed.

Making one reads the survey's answers and their fingerprint in one snapshot (a single read
transaction: REPEATABLE READ on PostgreSQL, SQLite's snapshot under WAL), so the fingerprint
names exactly the answers the figures came from, however many arrive meanwhile. The analysis
runs outside any transaction (in a worker thread on the web app); the row is inserted after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from analysis.report import ReportSettings
from talking import audit
from talking.db.engine import immediate
from talking.db.models import packs, surveys
from talking.errors import SurveyNotFound, WrongSurveyState
from talking.packs import document as docs
from talking.packs.fingerprint import ALGORITHM, Fingerprint, answers_fingerprint
from talking.principal import Principal
from talking.reports import recorded_crime as crime
from talking.reports import service as reports

Progress = Callable[[str], None]


class PackNotFound(LookupError):
    """No pack with this id."""

    def __init__(self, pack_id: int) -> None:
        super().__init__(f"No pack with id {pack_id}")
        self.pack_id = pack_id


def crime_months_used(document: dict[str, Any]) -> list[str]:
    """The months of recorded crime a report's figures used ("YYYY-MM"), for the pack to record.

    The report's ``recorded_crime`` section names the months it counted (every month imported when
    the pack was made); none when no police.uk file had been imported.
    """
    crime = document.get("recorded_crime")
    if isinstance(crime, dict) and isinstance(crime.get("months"), list):
        return sorted(str(month) for month in crime["months"])
    return []


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one read transaction saw: the report's inputs and the fingerprint of the same answers."""

    inputs: reports.ReportInputs
    fingerprint: Fingerprint
    # Recorded crime read in the same snapshot: (months imported, months counted, incidents).
    crime: tuple[Any, Any, Any]


def read_snapshot(
    conn: Connection, survey_id: int, *, progress: Progress | None = None, crime_months: list[str] | None = None
) -> Snapshot:
    """Read the inputs, fingerprint and recorded crime (call inside one read transaction); raises SurveyNotFound.

    ``crime_months``: a pack being verified counts the months it counted then (all imported when None).
    """
    inputs = reports.load_inputs(conn, survey_id, **({"progress": progress} if progress else {}))
    if progress:
        progress("fingerprint of the answers")
    first, last = (min(crime_months), max(crime_months)) if crime_months else (None, None)
    return Snapshot(inputs, answers_fingerprint(conn, survey_id), crime.read_counts(conn, first, last))


async def snapshot_connection(engine: AsyncEngine) -> AsyncConnection:
    """A connection whose transaction sees one snapshot (PostgreSQL's default, READ COMMITTED, does not)."""
    conn = await engine.connect()
    if engine.dialect.name == "postgresql":
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def pack_document(snapshot: Snapshot, built: reports.SurveyReport, settings: ReportSettings, made_by: str, made_at):
    """The whole pack as a dict: report, method, fingerprint, crime months, who and when."""
    report = built.document()
    return {
        "format": docs.FORMAT,
        "survey_id": built.frame.id,
        "fingerprint": {
            "algorithm": ALGORITHM,
            "value": snapshot.fingerprint.value,
            "responses": snapshot.fingerprint.responses,
        },
        "method": {"version": built.report.method.version, "settings": msgspec.to_builtins(settings)},
        "crime_months": crime_months_used(report),
        "made_by": made_by,
        "made_at": made_at.astimezone(UTC).isoformat(timespec="seconds"),
        "frame": docs.frame_part(built.frame),
        "report": report,
    }


def analyse(snapshot: Snapshot, settings: ReportSettings, *, progress: Progress | None = None):
    """The report from what the snapshot read, with its recorded crime beside concern (CPU only)."""
    built = reports.analyse(snapshot.inputs, settings, **({"progress": progress} if progress else {}))
    return crime.attach(built, *snapshot.crime)


async def store(conn: AsyncConnection, document: dict[str, Any], actor: Principal | None, ip: str | None = None) -> int:
    """Insert the pack (and its audit record) in the caller's transaction; returns its id."""
    content = docs.canonical(document)
    pack_id = (
        await conn.execute(
            insert(packs)
            .values(
                survey_id=document["survey_id"],
                document=content,
                method_version=document["method"]["version"],
                settings=docs.canonical(document["method"]["settings"]).decode(),
                fingerprint=document["fingerprint"]["value"],
                responses=document["fingerprint"]["responses"],
                crime_months=docs.canonical(document["crime_months"]).decode(),
                made_by=document["made_by"],
                made_at=datetime.fromisoformat(document["made_at"]),
            )
            .returning(packs.c.id)
        )
    ).scalar_one()
    detail = {"pack": pack_id, "fingerprint": document["fingerprint"]["value"]}
    if actor is None:
        await audit.record(
            conn, "pack_made", actor_email=document["made_by"], target_type="survey",
            target_id=document["survey_id"], detail=detail,
        )  # fmt: skip
    else:
        await audit.record(
            conn, "pack_made", actor=actor, target_type="survey", target_id=document["survey_id"], detail=detail, ip=ip
        )
    return pack_id


async def make_pack(
    engine: AsyncEngine,
    survey_id: int,
    settings: ReportSettings,
    *,
    made_by: str,
    actor: Principal | None = None,
    ip: str | None = None,
    run_cpu: Callable[..., Any] | None = None,
    progress: Progress | None = None,
) -> tuple[int, dict[str, Any]]:
    """Read, analyse and store a pack; returns (id, document). Raises SurveyNotFound, WrongSurveyState (a draft).

    run_cpu runs the analysis (the web app passes a worker-thread runner so the loop stays free).
    """
    conn = await snapshot_connection(engine)
    try:
        async with conn.begin():
            snapshot = await conn.run_sync(read_snapshot, survey_id, progress=progress)
    finally:
        await conn.close()
    if snapshot.inputs.frame.status == "draft":
        raise WrongSurveyState("A draft survey has no answers to freeze: publish it first.")
    if run_cpu is None:
        built = analyse(snapshot, settings, progress=progress)
    else:
        built = await run_cpu(analyse, snapshot, settings)
    document = pack_document(snapshot, built, settings, made_by, datetime.now(UTC))
    async with immediate(engine).begin() as write:  # SQLite: the write lock at BEGIN, so makers queue
        pack_id = await store(write, document, actor, ip)
    return pack_id, document


class PackSummary(msgspec.Struct, frozen=True):
    """A pack as lists show it."""

    id: int
    survey_id: int
    fingerprint: str
    responses: int
    method_version: str
    crime_months: list[str]
    made_by: str
    made_at: datetime


_SUMMARY = (
    packs.c.id, packs.c.survey_id, packs.c.fingerprint, packs.c.responses, packs.c.method_version,
    packs.c.crime_months, packs.c.made_by, packs.c.made_at,
)  # fmt: skip


def _summary(row: Any) -> PackSummary:
    return PackSummary(
        row.id, row.survey_id, row.fingerprint, row.responses, row.method_version,
        msgspec.json.decode(row.crime_months), row.made_by, row.made_at,
    )  # fmt: skip


async def survey_packs(conn: AsyncConnection, survey_id: int) -> list[PackSummary]:
    """A survey's packs, newest first; raises SurveyNotFound."""
    exists = (await conn.execute(select(surveys.c.id).where(surveys.c.id == survey_id))).first()
    if exists is None:
        raise SurveyNotFound(survey_id)
    rows = await conn.execute(select(*_SUMMARY).where(packs.c.survey_id == survey_id).order_by(packs.c.id.desc()))
    return [_summary(row) for row in rows]


async def survey_title(conn: AsyncConnection, survey_id: int) -> str:
    """The survey's title; raises SurveyNotFound."""
    title = (await conn.execute(select(surveys.c.title).where(surveys.c.id == survey_id))).scalar_one_or_none()
    if title is None:
        raise SurveyNotFound(survey_id)
    return title


async def pack_bytes(conn: AsyncConnection, pack_id: int) -> bytes:
    """The pack's stored document, exactly as made; raises PackNotFound."""
    content = (await conn.execute(select(packs.c.document).where(packs.c.id == pack_id))).scalar_one_or_none()
    if content is None:
        raise PackNotFound(pack_id)
    return bytes(content)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What recomputing a pack from the database found."""

    same: bool
    fingerprint_then: str
    fingerprint_now: str
    responses_then: int
    responses_now: int
    changes: list[str]


async def verify(engine: AsyncEngine, pack_id: int, *, progress: Progress | None = None) -> Verdict:
    """Recompute the pack's report from the database with its own method; compare the figures."""
    async with engine.connect() as conn:
        stored = msgspec.json.decode(await pack_bytes(conn, pack_id))
    settings = docs.settings_of(stored)
    conn = await snapshot_connection(engine)
    try:
        async with conn.begin():
            snapshot = await conn.run_sync(
                read_snapshot, stored["survey_id"], progress=progress, crime_months=stored["crime_months"] or None
            )
    finally:
        await conn.close()
    built = analyse(snapshot, settings, progress=progress)
    # Through the same canonical bytes, so what is compared is what a new pack would store.
    now = msgspec.json.decode(docs.canonical(built.document()))
    changes = docs.differences(stored["report"], now)
    if stored["method"]["version"] != built.report.method.version:
        changes.insert(0, f"method version: {stored['method']['version']} -> {built.report.method.version}")
    then = stored["fingerprint"]
    return Verdict(
        same=not changes and then["value"] == snapshot.fingerprint.value,
        fingerprint_then=then["value"],
        fingerprint_now=snapshot.fingerprint.value,
        responses_then=then["responses"],
        responses_now=snapshot.fingerprint.responses,
        changes=changes,
    )
