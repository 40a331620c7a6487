"""Disclosure control: primary and secondary suppression, flags, and no quotes from hidden cells."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.disclosure import flagged, suppress_line, suppress_table
from analysis.report import ReportSettings, build_report
from analysis.synthetic import THEME_WORDS, make_survey


def _safe(counts, hidden, min_cell=10):
    """No shown cell is small, and no line has exactly one hidden cell."""
    assert not np.any(~hidden & (counts > 0) & (counts < min_cell))
    for line in (*hidden, *hidden.T):
        assert line.sum() != 1


def test_line_secondary_takes_the_next_smallest():
    assert list(suppress_line(np.array([50, 5, 30, 12]))) == [False, True, False, True]
    assert list(suppress_line(np.array([5, 3, 40]))) == [True, True, False]
    assert not suppress_line(np.array([0, 50, 40])).any()  # empty cells disclose nobody
    assert list(suppress_line(np.array([0, 4, 40]))) == [False, True, True]
    assert list(suppress_line(np.array([50, 40, 30]), forced=np.array([True, False, False]))) == [True, False, True]


def test_table_secondary_protects_every_row_and_column():
    counts = np.array([[40, 3, 25, 60], [15, 30, 22, 11], [33, 27, 4, 50]])
    hidden = suppress_table(counts)
    _safe(counts, hidden)
    assert hidden[0, 1] and hidden[2, 2]
    rng = np.random.default_rng(0)
    for _ in range(50):
        counts = rng.integers(0, 60, size=(4, 7))
        forced = np.zeros_like(counts, dtype=bool)
        forced[:, rng.integers(0, 7)] = True
        hidden = suppress_table(counts, forced=forced)
        _safe(counts, hidden)
        assert hidden[forced].all()


def test_flags_small_bases():
    assert list(flagged(np.array([29, 30, 5]))) == [True, False, True]


@pytest.fixture(scope="module")
def uneven():
    """Eight districts, one of 5 respondents, one of 25 (next smallest), one of 28 (flag only)."""
    survey = make_survey(
        n_issues=12,
        n_districts=8,
        district_sizes=[200, 150, 5, 40, 25, 28, 300, 120],
        n_types=2,
        type_strength=30,
        comment_rate=0.5,
        seed=4,
    )
    district = survey.responses.district
    comments = list(survey.comments)
    # residents of the hidden districts write the most on-theme comments of all
    words = list(THEME_WORDS.values())
    for row in np.flatnonzero(np.isin(district, [2, 4])):
        comments[row] = " ".join(words[row % len(words)][:6])
    report = build_report(
        survey.issue_codes,
        survey.issue_labels,
        survey.district_codes,
        survey.district_names,
        responses=survey.responses,
        population=survey.population,
        margin_targets={"age_band": survey.age_targets},
        comments=comments,
        comment_district=district,
        settings=ReportSettings(opinion_sample=2000, n_themes=6),
    )
    return survey, comments, report


def test_small_district_and_its_cover_are_suppressed_everywhere(uneven):
    _survey, _comments, report = uneven
    by_code = {d.code: d for d in report.districts}
    first, second = by_code["D02"], by_code["D04"]
    assert first.suppressed and first.suppression == "primary"
    assert second.suppressed and second.suppression == "secondary"
    for d in (first, second):
        assert d.responses is None and d.issues == [] and d.weighted_issues is None
        assert d.effective_n is None and d.plackett_luce is None
    assert report.responses == 868 and report.county.responses == 868
    shown = [d for d in report.districts if not d.suppressed]
    assert len(shown) == 6
    assert sum(d.responses for d in shown) == 868 - 30  # only the pair's total can be worked out
    assert set(report.clusters.excluded) == {"D02", "D04"}
    assert all("D02" not in g.districts and "D04" not in g.districts for g in report.clusters.groups)


def test_flagged_base(uneven):
    _, _, report = uneven
    by_code = {d.code: d for d in report.districts}
    assert by_code["D05"].flagged and not by_code["D05"].suppressed
    assert not by_code["D06"].flagged


def test_opinion_group_cross_tab_is_protected(uneven):
    _, _, report = uneven
    groups = report.opinion_groups
    counts = np.array([[s.count if s.count is not None else -1 for s in g.districts] for g in groups.groups])
    hidden = np.array([[s.suppressed for s in g.districts] for g in groups.groups])
    assert hidden[:, 2].all() and hidden[:, 4].all()
    _safe(np.where(hidden, 1, counts), hidden)
    flags = np.array([[s.flagged for s in g.districts] for g in groups.groups])
    assert flags[:, 5].all() and not flags[:, 6].any()


def test_no_quote_from_a_suppressed_district(uneven):
    survey, comments, report = uneven
    hidden_text = {comments[r] for r in np.flatnonzero(np.isin(survey.responses.district, [2, 4]))}
    quotes = [q for t in report.themes for q in t.quotes]
    assert report.themes and quotes
    assert not hidden_text & set(quotes)


def test_everything_withheld_below_min_cell():
    survey = make_survey(n_issues=6, n_districts=3, district_sizes=[3, 2, 0], seed=1)
    report = build_report(
        survey.issue_codes,
        survey.issue_labels,
        survey.district_codes,
        survey.district_names,
        responses=survey.responses,
    )
    assert report.responses == 5
    assert all(d.suppressed for d in report.districts)
    assert report.county.unweighted is None and report.opinion_groups is None
