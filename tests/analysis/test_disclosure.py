"""Disclosure control: small districts suppressed, the county from the published districts only,
secondary suppression inside cross-tables, flags, and no quotes from hidden cells."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from analysis.disclosure import flagged, primary, suppress_table
from analysis.report import ReportSettings, build_report
from analysis.synthetic import THEME_WORDS, make_survey


def _safe(counts, hidden, min_cell=10):
    """No shown cell is small, and no line has exactly one hidden cell."""
    assert not np.any(~hidden & (counts > 0) & (counts < min_cell))
    for line in (*hidden, *hidden.T):
        assert line.sum() != 1


def test_primary_hides_only_small_non_empty_cells():
    assert list(primary(np.array([50, 5, 30, 12, 0, 9, 10]))) == [False, True, False, False, False, True, False]


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


SIZES = [200, 150, 5, 460, 25, 28, 300, 120]  # D02 has 5 answers; D03 is the large one


def _report(survey, responses, comments=None, comment_district=None):
    return build_report(
        survey.issue_codes,
        survey.issue_labels,
        survey.district_codes,
        survey.district_names,
        responses=responses,
        population=survey.population,
        margin_targets={"age_band": survey.age_targets},
        comments=comments,
        comment_district=comment_district,
        settings=ReportSettings(opinion_sample=2000, n_themes=6),
    )


@pytest.fixture(scope="module")
def uneven():
    """Eight districts, one of 5 respondents, one of 25 (next smallest), one of 28 (flag only), one of 460."""
    survey = make_survey(
        n_issues=12,
        n_districts=8,
        district_sizes=SIZES,
        n_types=2,
        type_strength=30,
        comment_rate=0.5,
        seed=4,
    )
    district = survey.responses.district
    comments = list(survey.comments)
    # residents of the small district write the most on-theme comments of all
    words = list(THEME_WORDS.values())
    for row in np.flatnonzero(district == 2):
        comments[row] = " ".join(words[row % len(words)][:6]) + f" (resident {row})"
    return survey, comments, _report(survey, survey.responses, comments, district)


def test_only_the_small_district_is_suppressed_and_every_other_is_published(uneven):
    _survey, _comments, report = uneven
    by_code = {d.code: d for d in report.districts}
    small = by_code["D02"]
    assert small.suppressed and small.suppression == "primary"
    assert small.responses is None and small.issues == [] and small.weighted_issues is None
    assert small.effective_n is None and small.plackett_luce is None
    shown = [d for d in report.districts if not d.suppressed]
    assert [d.code for d in shown] == ["D00", "D01", "D03", "D04", "D05", "D06", "D07"]
    assert by_code["D03"].responses == 460 and by_code["D04"].responses == 25  # nobody hidden for D02's sake
    assert all(d.issues and d.weighted_issues for d in shown)
    assert report.clusters.excluded == ["D02"]
    assert all("D02" not in g.districts for g in report.clusters.groups)


def test_the_county_says_what_it_leaves_out(uneven):
    _survey, _comments, report = uneven
    county = report.county
    assert report.responses == sum(SIZES) == 1288
    assert county.left_out == ["D02"] and county.left_out_responses == 5
    assert county.responses == 1288 - 5
    note = "leave out 1 suppressed district with 5 of the 1,288 answers: District 2 (5)"
    assert any(note in n for n in report.method.notes)


def test_county_figures_are_those_of_the_published_districts(uneven):
    """The county equals a report made without the small district's answers at all."""
    survey, _comments, report = uneven
    without = _report(survey, survey.responses.subset(survey.responses.district != 2))
    assert report.county.unweighted == without.county.unweighted
    assert report.county.weighted == without.county.weighted  # population shares renormalised over the published
    assert report.county.plackett_luce == without.county.plackett_luce
    for d in range(8):
        if d != 2:
            assert report.districts[d].issues == without.districts[d].issues


def test_no_subtraction_recovers_the_small_district(uneven):
    """County minus the sum of the published districts is nothing: every count, on every issue."""
    _survey, _comments, report = uneven
    shown = [d for d in report.districts if not d.suppressed]
    assert report.county.responses - sum(d.responses for d in shown) == 0
    county = {i.code: i for i in report.county.unweighted.issues}
    for code, issue in county.items():
        by_district = [next(i for i in d.issues if i.code == code) for d in shown]
        first = issue.first_choice_share.numerator - sum(i.first_choice_share.numerator for i in by_district)
        mention = issue.mention_share.numerator - sum(i.mention_share.numerator for i in by_district)
        assert first == 0 and mention == 0
        assert issue.first_choice_share.denominator == sum(i.first_choice_share.denominator for i in by_district)
        # pooled mean points are the published districts' means weighted by their answers
        pooled = sum(i.mean_points * d.responses for i, d in zip(by_district, shown, strict=True)) / county_n(shown)
        assert issue.mean_points == pytest.approx(pooled, abs=1e-12)


def county_n(shown):
    return sum(d.responses for d in shown)


def test_two_small_districts_are_both_left_out_and_nothing_else():
    survey = make_survey(n_issues=6, n_districts=4, district_sizes=[7, 3, 300, 40], seed=2)
    report = _report(survey, survey.responses)
    assert [d.suppressed for d in report.districts] == [True, True, False, False]
    assert report.county.left_out == ["D00", "D01"] and report.county.left_out_responses == 10
    assert report.county.responses == 340


def test_all_districts_small_leaves_no_county_figures():
    """Enough answers in all (15), but no district reaches 10: nothing is published, the county included."""
    survey = make_survey(n_issues=6, n_districts=3, district_sizes=[5, 5, 5], seed=3)
    report = _report(survey, survey.responses)
    assert report.responses == 15 and all(d.suppressed for d in report.districts)
    assert report.county.unweighted is None and report.county.weighted is None
    assert report.county.responses == 0 and report.county.left_out_responses == 15
    assert report.opinion_groups is None


def test_flagged_base(uneven):
    _, _, report = uneven
    by_code = {d.code: d for d in report.districts}
    assert by_code["D05"].flagged and not by_code["D05"].suppressed
    assert not by_code["D06"].flagged


def test_opinion_group_cross_tab_keeps_secondary_suppression(uneven):
    """Group sizes are published over everyone, so each group's row needs a second hidden cell."""
    _, _, report = uneven
    groups = report.opinion_groups
    counts = np.array([[s.count if s.count is not None else -1 for s in g.districts] for g in groups.groups])
    hidden = np.array([[s.suppressed for s in g.districts] for g in groups.groups])
    assert len(groups.groups) >= 2
    assert hidden[:, 2].all()  # the small district's column
    assert (hidden.sum(axis=1) >= 2).all()  # and in every row another cell covers it
    _safe(np.where(hidden, 1, counts), hidden)
    flags = np.array([[s.flagged for s in g.districts] for g in groups.groups])
    assert flags[:, 5].all() and not flags[:, 6].any()


def test_no_quote_from_a_suppressed_district(uneven):
    survey, comments, report = uneven
    hidden_text = {comments[r] for r in np.flatnonzero(survey.responses.district == 2)}
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


def test_bootstrap_weights_the_published_rows_when_only_a_suppressed_district_had_a_cell():
    """A trait combination found only in the suppressed district: the published rows still find their cells."""
    survey = make_survey(n_issues=6, n_districts=3, district_sizes=[120, 90, 4], seed=9)
    r = survey.responses
    age = r.traits["age_band"].copy()
    age[r.district == 2] = 0  # the lowest levels, so that they come first among the statistics' cells
    age[r.district != 2] = 1  # nobody published is in age band 0
    rows = msgspec.structs.replace(r, traits={"age_band": age, "sex": r.traits["sex"]})
    reports = {
        interval: build_report(
            survey.issue_codes,
            survey.issue_labels,
            survey.district_codes,
            survey.district_names,
            responses=rows,
            population=survey.population,
            margin_targets={"age_band": survey.age_targets, "sex": survey.sex_targets},
            settings=ReportSettings(interval=interval, draws=200, opinion_sample=200),
        )
        for interval in ("bootstrap", "gaussian")
    }
    report = reports["bootstrap"]
    assert report.county.left_out == ["D02"] and report.county.responses == 210
    # the row weights are the cell weights: weighted means agree with the Gaussian report's
    for d in range(2):
        boot = {i.code: i.mean_points for i in report.districts[d].weighted_issues}
        cells = {i.code: i.mean_points for i in reports["gaussian"].districts[d].weighted_issues}
        assert boot == pytest.approx(cells, abs=1e-9)
