"""Build a survey's report: load its statistics and samples, run `analysis`, cache the result.

The database part runs on the caller's connection; the analysis is CPU work, so the web app
runs it in a worker thread (`build_async`) with OpenMP limited to one thread: on a small shared
machine k-means threads waiting on each other cost far more than they gain.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import anyio.to_thread
import msgspec
import numpy as np
from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncEngine
from threadpoolctl import threadpool_limits

from analysis.data import PickStats, Responses
from analysis.recorded_crime import RecordedCrime
from analysis.report import ReportSettings, build_report
from analysis.schemas import Report, Share
from talking.db.models import surveys
from talking.errors import SurveyNotFound
from talking.invitations.rates import ResponseRates, invited_count, rate_notes, response_rates_now
from talking.reports.data import (
    SurveyFrame,
    load_comments,
    load_frame,
    load_rows,
    load_sample,
    load_stats,
    repeat_answers,
    respondents,
)

DEFAULT_SETTINGS = ReportSettings()
# Respondent rows the Plackett-Luce check and opinion groups are fitted on, and comments the
# themes are drawn from: reproducible samples, so a report costs the same at any size.
ROW_SAMPLE = 30_000
COMMENT_SAMPLE = 5_000

Progress = Callable[[str], None]


def report_settings(app_settings, **changes) -> ReportSettings:
    """The report method for this deployment: defaults, its suppression threshold, then any changes."""
    return msgspec.structs.replace(DEFAULT_SETTINGS, **{"min_cell": app_settings.report_min_cell, **changes})


@dataclass(slots=True)
class ReportInputs:
    """Everything read from the database for one wave's report."""

    frame: SurveyFrame
    stats: PickStats
    rows: Responses | None
    comments: list[str]
    comment_district: np.ndarray
    previous: ReportInputs | None = None
    # Responses from a browser that had already answered this survey (households share devices).
    repeat_answers: int = 0
    # A members survey's invitations and answers by district (None when nobody was invited).
    rates: ResponseRates | None = None


class ReportSurvey(msgspec.Struct, frozen=True):
    """Which survey and wave a report document is about."""

    id: int
    title: str
    status: str
    wave: int
    previous_wave_id: int | None
    # Answers from a browser that had already answered this survey (households share devices).
    repeat_answers: Share


class ReportDocument(Report, frozen=True, kw_only=True):
    """The report as the API and `talking report --format json` give it (its schema is in the OpenAPI)."""

    survey: ReportSurvey
    # Police.uk recorded crime beside concern, for the months chosen (reports/recorded_crime.py).
    recorded_crime: RecordedCrime | None = None


@dataclass(frozen=True, slots=True)
class SurveyReport:
    """A report and the survey it is about."""

    frame: SurveyFrame
    report: Report
    repeat_answers: int = 0
    # Added per request for the months asked for (not cached with the report): reports/recorded_crime.py.
    recorded_crime: RecordedCrime | None = None

    def document(self) -> dict:
        """The JSON document (a ReportDocument): the report's fields plus a `survey` block."""
        f = self.frame
        survey = ReportSurvey(
            id=f.id,
            title=f.title,
            status=f.status,
            wave=f.wave,
            previous_wave_id=f.previous_wave_id,
            repeat_answers=repeat_share(self.repeat_answers, self.report.responses),
        )
        document = ReportDocument(
            **msgspec.structs.asdict(self.report), survey=survey, recorded_crime=self.recorded_crime
        )
        return msgspec.to_builtins(document)


def _quiet(_step: str) -> None:
    return None


def load_inputs(
    conn: Connection,
    survey_id: int,
    *,
    progress: Progress = _quiet,
    previous_wave: bool = True,
    all_rows: bool = False,
):
    """Read a wave (and, for its changes, the previous wave's statistics) from the database.

    previous_wave=False leaves the previous wave out (the caller has its report already). all_rows
    reads every respondent instead of a sample: the bootstrap resamples them all.
    """
    progress("survey definition")
    frame = load_frame(conn, survey_id)
    progress("running tallies")
    stats = load_stats(conn, frame)
    progress("sample of respondents")
    rows = load_rows(conn, frame) if all_rows else load_sample(conn, frame, ROW_SAMPLE)
    progress("sample of comments")
    comments, where = load_comments(conn, frame, COMMENT_SAMPLE)
    previous = None
    if frame.previous_wave_id is not None and previous_wave:
        progress("previous wave")
        previous = _load_previous_wave(conn, frame.previous_wave_id, all_rows=all_rows)
    repeats = repeat_answers(conn, survey_id)
    rates = response_rates_now(conn, survey_id)
    return ReportInputs(
        frame,
        stats,
        rows if len(rows) else None,
        comments,
        where,
        previous,
        repeats,
        rates if rates.any_invited else None,
    )


def _load_previous_wave(conn: Connection, survey_id: int, *, all_rows: bool) -> ReportInputs:
    """A previous wave only lends its tables to the changes, not its groups or themes."""
    frame = load_frame(conn, survey_id)
    rows = load_rows(conn, frame) if all_rows else None
    return ReportInputs(frame, load_stats(conn, frame), rows, [], np.zeros(0, dtype=np.int64))


def previous_report(inputs: ReportInputs, settings: ReportSettings, progress: Progress = _quiet) -> Report | None:
    """The previous wave's report, analysed from what load_inputs read of it (None if it read none)."""
    if inputs.previous is None:
        return None
    progress("analysis of the previous wave")
    return analyse(inputs.previous, settings).report


def analyse(
    inputs: ReportInputs,
    settings: ReportSettings = DEFAULT_SETTINGS,
    *,
    progress: Progress = _quiet,
    previous: Report | None = None,
):
    """Run the analysis on what was read (CPU only, no database).

    previous is the previous wave's report when the caller has it already; otherwise it is
    analysed from inputs.previous.
    """
    if previous is None:
        previous = previous_report(inputs, settings, progress)
    progress("analysis")
    f = inputs.frame
    with threadpool_limits(1):
        report = build_report(
            f.issue_codes,
            f.issue_labels,
            f.district_codes,
            f.district_names,
            stats=inputs.stats,
            responses=inputs.rows,
            # with no answers at all there is nothing to weight (and no district to renormalise over)
            population=f.population if inputs.stats.n.sum() else None,
            margin_targets=f.margin_targets(),
            comments=inputs.comments or None,
            comment_district=inputs.comment_district,
            previous=previous,
            settings=settings,
        )
    rows, total = 0 if inputs.rows is None else len(inputs.rows), int(inputs.stats.n.sum())
    if 0 < rows < total:  # say that the row-based parts saw a sample, and how big
        note = (
            f"Plackett-Luce checks and opinion groups use a reproducible sample of {rows} of the {total} "
            "respondents (chosen by a hash of their id); opinion-group counts and shares are of that sample."
        )
        method = msgspec.structs.replace(report.method, notes=[*report.method.notes, note])
        report = msgspec.structs.replace(report, method=method)
    if inputs.repeat_answers:
        share = repeat_share(inputs.repeat_answers, total)
        note = (
            f"{inputs.repeat_answers:,} of {total:,} responses ({share.value:.1%}) came from a browser that had "
            "already answered this survey. Households share devices, so they are kept and counted like any other."
        )
        method = msgspec.structs.replace(report.method, notes=[*report.method.notes, note])
        report = msgspec.structs.replace(report, method=method)
    if inputs.rates is not None:  # a members survey: who answered of those invited, and where it is low
        method = msgspec.structs.replace(report.method, notes=[*report.method.notes, *rate_notes(inputs.rates)])
        report = msgspec.structs.replace(report, method=method)
    return SurveyReport(f, report, inputs.repeat_answers)


def repeat_share(repeats: int, total: int) -> Share:
    """Answers from a browser that had already answered, as a fraction of all answers (as the report gives shares)."""
    return Share(numerator=repeats, denominator=total, value=repeats / total if total else 0.0)


def build(conn: Connection, survey_id: int, settings: ReportSettings = DEFAULT_SETTINGS, *, progress=_quiet):
    """Load and analyse in one go (for tests and scripts; the CLI calls the two steps itself to show progress)."""
    return analyse(load_inputs(conn, survey_id, progress=progress), settings, progress=progress)


class ReportCache:
    """The latest reports, rebuilt only when a survey's answers have changed.

    Keyed by survey and its respondent count (and the previous wave's), so a new answer makes
    the next request rebuild; concurrent requests for the same report wait for one build.
    """

    def __init__(self, engine: AsyncEngine, size: int = 8, settings: ReportSettings = DEFAULT_SETTINGS) -> None:
        self.engine = engine
        self.size = size
        self.settings = settings
        self._reports: OrderedDict[_CacheKey, SurveyReport] = OrderedDict()
        # Previous waves' reports by (survey id, respondents): a closed wave is not analysed again
        # each time an answer to the current one makes its report stale.
        self._previous: OrderedDict[tuple[int | None, int | None], Report] = OrderedDict()
        self._building: dict[_CacheKey, asyncio.Future[SurveyReport]] = {}

    async def get(self, survey_id: int) -> SurveyReport:
        """The survey's report, from the cache when no answer has arrived since; raises SurveyNotFound."""
        # A pooled connection is held only while reading, never while waiting or analysing.
        async with self.engine.connect() as conn:
            key = await conn.run_sync(_cache_key, survey_id)
        if key in self._reports:
            self._reports.move_to_end(key)
            return self._reports[key]
        if key in self._building:
            return await asyncio.shield(self._building[key])
        future = asyncio.get_running_loop().create_future()
        self._building[key] = future
        try:
            known = self._previous.get(key.previous)
            async with self.engine.connect() as conn:
                inputs = await conn.run_sync(functools.partial(load_inputs, previous_wave=known is None), survey_id)
            previous, report = await anyio.to_thread.run_sync(self._analyse, inputs, known)
            if previous is not None:
                self._keep(self._previous, key.previous, previous)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del self._building[key]
        future.set_result(report)
        self._keep(self._reports, key, report)
        return report

    def _keep(self, cache: OrderedDict[Any, Any], key: object, value: object) -> None:
        """Remember value as the newest entry, forgetting the oldest beyond the cache's size."""
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > self.size:
            cache.popitem(last=False)

    def _analyse(self, inputs: ReportInputs, known: Report | None) -> tuple[Report | None, SurveyReport]:
        """The previous wave's report (as known, or analysed from the inputs) and this wave's."""
        previous = known if known is not None else previous_report(inputs, self.settings)
        return previous, analyse(inputs, self.settings, previous=previous)


class _CacheKey(NamedTuple):
    """What a report depends on that can change after publishing: answers, and the status shown."""

    survey_id: int
    status: str
    respondents: int
    previous_wave_id: int | None
    previous_respondents: int | None
    # Invitations sent change the method's response rates without any new answer.
    invited: int = 0

    @property
    def previous(self) -> tuple[int | None, int | None]:
        """The previous wave's part: its report stays valid while this stays the same."""
        return self.previous_wave_id, self.previous_respondents


def _cache_key(conn: Connection, survey_id: int) -> _CacheKey:
    """The survey's cache key as of now; raises SurveyNotFound."""
    query = select(surveys.c.status, surveys.c.previous_wave_id).where(surveys.c.id == survey_id)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise SurveyNotFound(survey_id)
    previous = row.previous_wave_id
    return _CacheKey(
        survey_id,
        row.status,
        respondents(conn, survey_id),
        previous,
        None if previous is None else respondents(conn, previous),
        invited_count(conn, survey_id),
    )
