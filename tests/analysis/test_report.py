"""The assembled report: both input paths agree, weighted figures match an independent raking."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from analysis import VERSION
from analysis.data import PickStats, Responses, pick_stats
from analysis.plackett_luce import TopNPlackettLuce, disagreements
from analysis.ranking import BordaRanker
from analysis.report import ReportSettings, build_report
from analysis.schemas import Report
from analysis.synthetic import sample_top_n


def _rake_rows(district, traits, targets, sweeps=200):
    """Independent IPF on respondent rows with boolean masks (no cells)."""
    w = np.ones(district.size)
    for _ in range(sweeps):
        for name, goal in targets.items():
            level = traits[name]
            for d in np.unique(district):
                known = (district == d) & (level >= 0)
                total = w[known].sum()
                for k in range(goal.shape[1]):
                    cell = known & (level == k)
                    w[cell] *= goal[d, k] * total / w[cell].sum()
    return w


def test_json_round_trip(planted_report):
    data = msgspec.json.encode(planted_report)
    assert msgspec.json.decode(data, type=Report) == planted_report


def test_issue_tables_are_complete_and_consistent(planted_report):
    assert planted_report.method.version == VERSION and planted_report.method.random_state == 1
    for d in planted_report.districts:
        for table in (d.issues, d.weighted_issues):
            assert len(table) == 20
            assert [i.rank for i in table] == sorted(i.rank for i in table)
            for i in table:
                assert i.rank_range[0] <= i.rank <= i.rank_range[1]
                assert i.score_ci[0] <= i.score <= i.score_ci[1]
                assert i.score == pytest.approx(i.mean_points / 5 * 100)
                assert 0 <= i.p_top3 <= 1
    county = planted_report.county
    assert county.unweighted.responses == 6000 and county.weighted.responses == 6000
    assert county.weighted.issues[0].mention_share.denominator is None


def test_weighted_figures_match_independent_raking(planted, planted_report):
    r = planted.responses
    targets = {"age_band": planted.age_targets, "sex": planted.sex_targets}
    w = _rake_rows(r.district, r.traits, targets)
    means = np.zeros((14, 20))
    for d, district in enumerate(planted_report.districts):
        here = r.district == d
        wd, rows = w[here], r.picks[here]
        eff = wd.sum() ** 2 / (wd**2).sum()
        assert district.effective_n == pytest.approx(eff, rel=1e-6)
        assert district.design_effect == pytest.approx(here.sum() / eff, rel=1e-6)
        for issue in district.weighted_issues:
            i = planted.issue_codes.index(issue.code)
            first = wd[rows[:, 0] == i].sum() / wd.sum()
            mention = wd[(rows == i).any(axis=1)].sum() / wd.sum()
            points = (wd * np.where(rows == i, 5 - np.arange(5), 0).sum(axis=1)).sum() / wd.sum()
            means[d, i] = points
            assert issue.first_choice_share.value == pytest.approx(first, rel=1e-6)
            assert issue.mention_share.value == pytest.approx(mention, rel=1e-6)
            assert issue.mean_points == pytest.approx(points, rel=1e-6)
    share = planted.population / planted.population.sum()
    county = {i.code: i.mean_points for i in planted_report.county.weighted.issues}
    assert [county[c] for c in planted.issue_codes] == pytest.approx(share @ means, rel=1e-6)


def test_statistics_path_gives_the_same_rankings(planted, planted_stats, planted_report):
    from_stats = build_report(
        planted.issue_codes,
        planted.issue_labels,
        planted.district_codes,
        planted.district_names,
        stats=planted_stats,
        population=planted.population,
        margin_targets={"age_band": planted.age_targets, "sex": planted.sex_targets},
        settings=ReportSettings(random_state=1),
    )
    assert from_stats.opinion_groups is None and from_stats.county.plackett_luce is None
    for a, b in zip(from_stats.districts, planted_report.districts, strict=True):
        assert a.issues == b.issues and a.weighted_issues == b.weighted_issues
    assert from_stats.county.weighted == planted_report.county.weighted
    assert from_stats.clusters == planted_report.clusters


def test_statistics_without_cells_cannot_be_raked(planted, planted_stats):
    with pytest.raises(ValueError):
        build_report(
            planted.issue_codes,
            planted.issue_labels,
            planted.district_codes,
            planted.district_names,
            stats=planted_stats.by_district(),
            margin_targets={"age_band": planted.age_targets},
        )


def test_report_finds_the_planted_structure(planted, planted_report):
    clusters = planted_report.clusters
    assert clusters.distinct and len(clusters.groups) == 3
    for group in clusters.groups:
        members = [planted.district_codes.index(c) for c in group.districts]
        assert len(set(planted.district_group[members])) == 1
        wanted = planted.district_group[members[0]]
        expected = [c for c, g in zip(planted.district_codes, planted.district_group, strict=True) if g == wanted]
        assert sorted(group.districts) == sorted(expected)
    assert all(d.plackett_luce.disagree == [] for d in planted_report.districts)
    assert planted_report.themes and planted_report.opinion_groups is not None


def test_plackett_luce_flags_a_polarising_issue():
    rng = np.random.default_rng(0)
    worths = np.tile(np.exp(np.linspace(1, -1, 10)), (3000, 1))
    fans = rng.random(3000) < 0.3
    worths[fans, 9], worths[~fans, 9] = 1000, 0  # loved by 30%, never picked by the rest
    picks = sample_top_n(worths, 5, rng)
    r = Responses(picks, np.zeros(3000, dtype=np.int64), 10, 1)
    borda = BordaRanker(random_state=0).fit(pick_stats(r)).districts_
    pl = TopNPlackettLuce().fit(picks, 10)
    flags = disagreements(pl.rank_, borda.rank_low[0], borda.rank_high[0])
    assert flags[9] and pl.rank_[9] > borda.rank_high[0, 9]


def test_same_inputs_same_report(planted, planted_report):
    r = planted.responses
    again = build_report(
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
    assert again == planted_report


def test_bootstrap_report_is_close_to_the_gaussian_one(planted, planted_report):
    boot = build_report(
        planted.issue_codes,
        planted.issue_labels,
        planted.district_codes,
        planted.district_names,
        responses=planted.responses,
        population=planted.population,
        margin_targets={"age_band": planted.age_targets, "sex": planted.sex_targets},
        settings=ReportSettings(interval="bootstrap", draws=500, opinion_sample=1000, random_state=1),
    )
    assert boot.method.interval == "bootstrap"
    for a, b in zip(boot.districts, planted_report.districts, strict=True):
        gaussian = {i.code: i for i in b.weighted_issues}
        for x in a.weighted_issues:
            y = gaussian[x.code]
            assert x.mean_points == pytest.approx(y.mean_points)
            assert x.score_se == pytest.approx(y.score_se, rel=0.25, abs=0.05)


def test_caller_weights_leave_the_unweighted_tables_alone(small):
    r = small.responses
    weights = np.where(r.traits["age_band"] == 1, 0.5, 2.0)
    names = (small.issue_codes, small.issue_labels, small.district_codes, small.district_names)
    settings = ReportSettings(opinion_sample=400, random_state=3)
    plain = build_report(*names, responses=r, settings=settings)
    weighted = build_report(*names, responses=msgspec.structs.replace(r, weights=weights), settings=settings)
    assert plain.districts[0].weighted_issues is None
    for a, b in zip(plain.districts, weighted.districts, strict=True):
        assert [(i.code, i.mean_points, i.mention_share) for i in a.issues] == [
            (i.code, i.mean_points, i.mention_share) for i in b.issues
        ]
        if b.suppressed:
            continue
        here = r.district == small.district_codes.index(b.code)
        for issue in b.weighted_issues:
            i = small.issue_codes.index(issue.code)
            mention = weights[here & (r.picks == i).any(axis=1)].sum() / weights[here].sum()
            assert issue.mention_share.value == pytest.approx(mention)
    assert weighted.method.weighting == "respondent weights supplied by the caller"


def test_district_only_statistics_as_the_app_keeps_them(planted, planted_stats, planted_report):
    plain = planted_stats.by_district()
    kept = PickStats.from_district_arrays(
        plain.n[:, 0], plain.counts[:, 0], plain.point_sum[:, 0], plain.point_cross[:, 0], 5
    )
    report = build_report(
        planted.issue_codes,
        planted.issue_labels,
        planted.district_codes,
        planted.district_names,
        stats=kept,
        settings=ReportSettings(random_state=1),
    )
    assert report.county.weighted is None and report.districts[0].weighted_issues is None
    for a, b in zip(report.districts, planted_report.districts, strict=True):
        assert [(i.code, i.first_choice_share, i.mean_points) for i in a.issues] == [
            (i.code, i.first_choice_share, i.mean_points) for i in b.issues
        ]
