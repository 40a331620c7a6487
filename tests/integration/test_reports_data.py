"""The running tallies and the report loaders, on a real SQLite file and a real PostgreSQL database.

The tallies are the writer's work, so these tests store answers through the real writer (the demo
loader's path) and check every count against an independent tally of the stored rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from analysis.data import NO_PICK, pick_stats
from talking import tallies
from talking.db.engine import create_engine
from talking.demo import load_demo, synthetic_responses
from talking.errors import SurveyNotFound
from talking.reports import service
from talking.reports.data import MARGINS, load_frame, load_rows, load_sample, load_stats
from talking.settings import Settings
from talking.surveys.batches import _write_batch
from talking.surveys.schemas import Receipt
from talking.surveys.writer import ResponseWriter
from tests.conftest import DEMO_ISSUES, publish_survey


@pytest.fixture
async def demo(each_database_url: str) -> tuple[AsyncEngine, int]:
    """A database holding the demo survey with 1,500 answers stored by the real writer."""
    survey_id = await load_demo(Settings(database_url=each_database_url), 1_500, seed=7)
    engine = create_engine(each_database_url)
    yield engine, survey_id
    await engine.dispose()


def _by_levels(stats, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One weighting cell's arrays, found by its (age band, sex) levels (cells may be ordered differently)."""
    (cell,) = np.flatnonzero((stats.cell_levels == levels).all(axis=1))
    return stats.n[:, cell], stats.counts[:, cell], stats.point_cross[:, cell]


async def test_tallies_equal_an_independent_count_of_the_stored_rows(demo) -> None:
    engine, survey_id = demo
    async with engine.connect() as conn:
        frame = await conn.run_sync(load_frame, survey_id)
        kept = await conn.run_sync(load_stats, frame)
        rows = await conn.run_sync(load_rows, frame)
    assert len(rows) == 1_500 == int(kept.n.sum())
    expected = pick_stats(rows, MARGINS)
    kept.check()
    # the demo's answers reach every band and sex, and leave some out (NO_PICK)
    assert set(expected.cell_levels[:, 0]) == {NO_PICK, *range(7)}
    assert set(expected.cell_levels[:, 1]) == {NO_PICK, 0, 1}
    for levels in expected.cell_levels:
        for got, want in zip(_by_levels(kept, levels), _by_levels(expected, levels), strict=True):
            np.testing.assert_array_equal(got, want)
    assert int(kept.n.sum()) == int(expected.n.sum())  # and nobody in a cell the rows do not have


async def test_rebuilding_the_tallies_gives_the_same_counts(demo) -> None:
    engine, survey_id = demo
    async with engine.connect() as conn:
        frame = await conn.run_sync(load_frame, survey_id)
        before = await conn.run_sync(load_stats, frame)
    async with engine.begin() as conn:
        await conn.run_sync(tallies.rebuild)
    async with engine.connect() as conn:
        after = await conn.run_sync(load_stats, frame)
    for name in ("n", "counts", "point_sum", "point_cross"):
        np.testing.assert_array_equal(getattr(after, name), getattr(before, name))


async def test_tallies_only_count_committed_answers_of_their_own_survey(each_database_url: str) -> None:
    engine = create_engine(each_database_url)
    writer = ResponseWriter(engine)
    try:
        first = await publish_survey(engine)
        second = await publish_survey(engine, max_picks=3)
        answers = synthetic_responses(list(DEMO_ISSUES), 3, 40, 1, datetime.now(UTC))
        for i, answer in enumerate(answers):
            answer.survey_id = first if i % 2 else second
        await writer.store_now(answers)
        # A batch whose transaction rolls back (as when the writer's COMMIT fails) leaves no count behind.
        lost = synthetic_responses(list(DEMO_ISSUES), 3, 10, 2, datetime.now(UTC))
        for answer in lost:
            answer.survey_id = first
        async with engine.connect() as conn:
            transaction = await conn.begin()
            outcomes, _claimed = await conn.run_sync(_write_batch, lost)
            assert all(isinstance(outcome, Receipt) for outcome in outcomes)  # written, then rolled back
            await transaction.rollback()
        async with engine.connect() as conn:
            for survey_id, top in ((first, 5), (second, 3)):
                frame = await conn.run_sync(load_frame, survey_id)
                kept = await conn.run_sync(load_stats, frame)
                assert int(kept.n.sum()) == 20 and kept.max_picks == top
                expected = pick_stats(await conn.run_sync(load_rows, frame), MARGINS).by_district()
                np.testing.assert_array_equal(kept.by_district().point_cross, expected.point_cross)
    finally:
        await writer.stop()
        await engine.dispose()


async def test_a_sample_is_reproducible_and_about_the_size_asked(demo) -> None:
    engine, survey_id = demo
    async with engine.connect() as conn:
        frame = await conn.run_sync(load_frame, survey_id)
        one = await conn.run_sync(load_sample, frame, 500)
        two = await conn.run_sync(load_sample, frame, 500)
        everything = await conn.run_sync(load_sample, frame, 10_000)
    assert 400 <= len(one) <= 600
    np.testing.assert_array_equal(one.picks, two.picks)
    assert len(everything) == 1_500


async def test_the_report_is_built_from_the_database(demo) -> None:
    engine, survey_id = demo
    async with engine.connect() as conn:
        built = await conn.run_sync(service.build, survey_id)
    report = built.report
    assert report.responses == 1_500
    shown = [d for d in report.districts if not d.suppressed]
    assert shown and all(d.weighted_issues for d in shown)
    assert "raked within district to age band, sex" in report.method.weighting
    unknown = report.method.unknown_traits
    assert set(unknown) == {"age band", "sex"} and 0 < report.method.unknown_on_every_margin <= min(unknown.values())
    assert report.opinion_groups is not None and report.themes
    document = built.document()
    assert document["survey"]["id"] == survey_id and document["responses"] == 1_500


async def test_an_unknown_survey_is_refused(demo) -> None:
    engine, _survey_id = demo
    async with engine.connect() as conn:
        with pytest.raises(SurveyNotFound):
            await conn.run_sync(load_frame, 987_654)


async def test_a_later_wave_is_compared_with_the_one_before(each_database_url: str) -> None:
    from sqlalchemy import update

    from talking.db.models import surveys

    engine = create_engine(each_database_url)
    writer = ResponseWriter(engine)
    try:
        first = await publish_survey(engine)
        second = await publish_survey(engine)
        async with engine.begin() as conn:
            await conn.execute(update(surveys).where(surveys.c.id == second).values(wave=2, previous_wave_id=first))
        for survey_id, seed in ((first, 1), (second, 2)):
            answers = synthetic_responses(list(DEMO_ISSUES), 5, 400, seed, datetime.now(UTC))
            for answer in answers:
                answer.survey_id = survey_id
            await writer.store_now(answers)
        async with engine.connect() as conn:
            built = await conn.run_sync(service.build, second)
        waves = built.report.waves
        assert waves is not None and sorted(waves.shared) == sorted(DEMO_ISSUES)
        county = next(a for a in waves.areas if a.area == "county")
        assert {c.code for c in county.changes} == set(DEMO_ISSUES)
        assert built.document()["survey"]["previous_wave_id"] == first

        # Through the cache: a new answer to this wave rebuilds it, reusing the previous wave's
        # report, and gives what a fresh build from the database gives.
        cache = service.ReportCache(engine)
        await cache.get(second)
        [prior] = cache._previous.values()
        extra = synthetic_responses(list(DEMO_ISSUES), 5, 1, 3, datetime.now(UTC))[0]
        extra.survey_id = second
        await writer.store_now([extra])
        rebuilt = await cache.get(second)
        async with engine.connect() as conn:
            fresh = await conn.run_sync(service.build, second)
        assert rebuilt.document() == fresh.document() != built.document()
        assert list(cache._previous.values()) == [prior] and cache._previous[(first, 400)] is prior  # analysed once
    finally:
        await writer.stop()
        await engine.dispose()


async def test_a_report_on_a_sample_of_rows_says_so(demo) -> None:
    engine, survey_id = demo
    async with engine.connect() as conn:
        inputs = await conn.run_sync(service.load_inputs, survey_id)
        sampled = await conn.run_sync(load_sample, inputs.frame, 300)
    inputs.rows = sampled
    notes = service.analyse(inputs).report.method.notes
    assert any(f"sample of {len(sampled)} of the 1500 respondents" in note for note in notes)
    inputs.rows = None
    assert not any("reproducible sample" in note for note in service.analyse(inputs).report.method.notes)
