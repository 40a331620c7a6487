"""Planted surveys shared by the analysis tests (generated once per session; seeds fixed)."""

from __future__ import annotations

import os

import pytest

# k-means and silhouettes use OpenMP; on two shared cores, threads spinning on each other make
# them several times slower, so these tests run them on one thread (set before sklearn loads)
os.environ.setdefault("OMP_NUM_THREADS", "1")

from analysis.data import pick_stats
from analysis.synthetic import make_survey


@pytest.fixture(scope="session")
def planted():
    """6,000 answers, 14 districts in 3 planted groups, 20 issues, top 5, some short lists."""
    return make_survey(6000, n_issues=20, n_districts=14, n_groups=3, group_strength=3.0, seed=11)


@pytest.fixture(scope="session")
def planted_stats(planted):
    """Sufficient statistics of the planted answers, kept by age band and sex cells."""
    return pick_stats(planted.responses, ["age_band", "sex"])


@pytest.fixture(scope="session")
def small():
    """A small survey with hand-checkable size: 400 answers, 6 districts, 8 issues, top 3."""
    return make_survey(400, n_issues=8, n_districts=6, max_picks=3, n_groups=2, seed=5)


@pytest.fixture(scope="session")
def planted_report(planted):
    """The full report on the planted survey: raked by age and sex, population-weighted county."""
    from analysis.report import ReportSettings, build_report

    r = planted.responses
    return build_report(
        planted.issue_codes,
        planted.issue_labels,
        planted.district_codes,
        planted.district_names,
        responses=r,
        population=planted.population,
        margin_targets={"age_band": planted.age_targets, "sex": planted.sex_targets},
        comments=planted.comments,
        comment_district=r.district,
        settings=ReportSettings(opinion_sample=3000, random_state=1),
    )
