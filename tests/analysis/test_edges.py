"""Awkward surveys: one pick each, issues nobody picked, tiny districts, repeated comments."""

from __future__ import annotations

import msgspec
import numpy as np

from analysis.data import NO_PICK, Responses
from analysis.report import ReportSettings, build_report
from analysis.schemas import Report


def _names(n_issues, n_districts):
    return (
        [f"i{k}" for k in range(n_issues)],
        [f"Issue {k}" for k in range(n_issues)],
        [f"D{k}" for k in range(n_districts)],
        [f"District {k}" for k in range(n_districts)],
    )


def test_single_pick_survey_with_unpicked_issues_round_trips():
    rng = np.random.default_rng(0)
    n = 90
    picks = rng.choice([0, 1, 2], size=(n, 1), p=[0.5, 0.3, 0.2])  # issues 3 and 4 never picked
    district = np.repeat([0, 1, 2], [40, 45, 5])
    r = Responses(picks, district, 5, 3, traits={"age_band": rng.integers(-1, 2, n)})
    report = build_report(
        *_names(5, 3),
        responses=r,
        population=np.array([1.0, 2.0, 1.0]),
        margin_targets={"age_band": np.full((3, 2), 0.5)},
        comments=["Same words every time."] * n,
        comment_district=district,
        settings=ReportSettings(opinion_sample=50),
    )
    assert msgspec.json.decode(msgspec.json.encode(report), type=Report) == report
    shown = report.districts[1]
    unpicked = [i for i in shown.issues if i.code in ("i3", "i4")]
    assert all(i.mean_points == 0 and i.rank == 4 and i.rank_range == (4, 5) for i in unpicked)
    assert all(i.versus_county is None for i in unpicked)  # nothing to test: no variance anywhere
    assert report.districts[2].suppressed and not report.districts[0].suppressed  # the 5 only: the county leaves it out
    assert report.county.left_out == ["D2"] and report.county.responses == 85
    assert report.themes == []


def test_empty_answers_and_an_empty_district():
    picks = np.full((30, 3), NO_PICK)
    picks[:20, 0] = 1
    r = Responses(picks, np.r_[np.zeros(15, int), np.ones(15, int)], 4, 3)
    report = build_report(*_names(4, 3), responses=r, settings=ReportSettings(opinion_sample=30))
    assert report.responses == 30
    empty = report.districts[2]
    assert empty.responses == 0 and not empty.suppressed and empty.flagged and empty.issues == []
    first = {i.code: i for i in report.districts[0].issues}["i1"]
    assert first.mention_share.numerator == 15 and first.mention_share.denominator == 15
    assert {i.code: i for i in report.districts[1].issues}["i1"].mention_share.numerator == 5
    msgspec.json.encode(report)
