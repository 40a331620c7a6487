"""Borda ranking: exact shares, hand tallies, bootstrap against sufficient statistics, rank sets."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from analysis.data import Responses, borda_points, pick_stats
from analysis.inference import benjamini_hochberg, competition_rank, holm
from analysis.ranking import BordaRanker
from analysis.synthetic import sample_top_n
from analysis.weighting import Raker


def test_hand_tally_of_a_tiny_survey():
    picks = np.array([[0, 1], [0, 2], [1, -1], [2, 0]])
    r = Responses(picks, np.zeros(4, dtype=np.int64), 3, 1)
    est = BordaRanker(random_state=0).fit(r).districts_
    m = est.moments
    assert np.allclose(m.mean[0], [5 / 4, 3 / 4, 3 / 4])
    assert list(est.rank[0]) == [1, 2, 2]
    assert list(m.first[0]) == [2, 1, 1] and list(m.mention[0]) == [3, 2, 2]
    assert np.allclose(est.score[0], [62.5, 37.5, 37.5])


def test_shares_and_points_equal_an_exact_tally(planted, planted_stats):
    r = planted.responses
    est = BordaRanker(random_state=1).fit(planted_stats.by_district()).districts_
    m = est.moments
    for d in range(r.n_districts):
        rows = r.picks[r.district == d]
        n = len(rows)
        for i in range(r.n_issues):
            first = Fraction(int((rows[:, 0] == i).sum()), n)
            mention = Fraction(int((rows == i).any(axis=1).sum()), n)
            points = Fraction(sum(5 - int(np.flatnonzero(row == i)[0]) for row in rows if i in row), n)
            assert Fraction(int(m.first[d, i]), int(m.denominator[d])) == first
            assert Fraction(int(m.mention[d, i]), int(m.denominator[d])) == mention
            assert m.mean[d, i] == pytest.approx(float(points), abs=1e-12)


def test_bootstrap_agrees_with_sufficient_statistics(planted):
    r = planted.responses
    pop = planted.population
    gauss = BordaRanker(n_draws=2000, random_state=2).fit(pick_stats(r), population=pop)
    boot = BordaRanker(interval="bootstrap", n_draws=1000, random_state=3).fit(r, population=pop)
    for g, b in (
        (gauss.districts_, boot.districts_),
        (gauss.county_, boot.county_),
        (gauss.county_weighted_, boot.county_weighted_),
    ):
        assert np.allclose(g.moments.mean, b.moments.mean)
        ok = g.se > 0.01
        assert np.all(np.abs(b.se[ok] / g.se[ok] - 1) < 0.15)
        width = g.ci_high - g.ci_low
        assert np.all(np.abs(b.ci_low - g.ci_low)[ok] < 0.3 * width[ok])
        assert np.all(np.abs(b.ci_high - g.ci_high)[ok] < 0.3 * width[ok])
        assert np.mean(np.abs(b.rank_low - g.rank_low) <= 1) > 0.95
        assert np.mean(np.abs(b.rank_high - g.rank_high) <= 1) > 0.95
        assert np.all(np.abs(b.p_top - g.p_top) < 0.1)


def _true_ranks(worths, top):
    """Ranks of expected Borda points under the PL model, by a big simulation."""
    rng = np.random.default_rng(99)
    picks = sample_top_n(np.tile(worths, (200_000, 1)), top, rng)
    return competition_rank(borda_points(picks, worths.size).mean(axis=0))


def test_rank_sets_cover_the_true_ranks_jointly():
    worths = np.exp(np.linspace(1.0, -1.0, 10))
    truth = _true_ranks(worths, 4)
    assert list(truth) == list(range(1, 11))  # expected Borda follows PL worth
    rng = np.random.default_rng(7)
    covered, width = 0, []
    reps = 100
    for rep in range(reps):
        picks = sample_top_n(np.tile(worths, (300, 1)), 4, rng)
        r = Responses(picks, np.zeros(300, dtype=np.int64), 10, 1)
        est = BordaRanker(n_draws=1000, random_state=rep).fit(pick_stats(r)).districts_
        covered += bool(np.all((est.rank_low[0] <= truth) & (truth <= est.rank_high[0])))
        width.append(np.mean(est.rank_high[0] - est.rank_low[0]))
    assert covered / reps >= 0.9
    assert 0 < np.mean(width) < 9


def test_rank_sets_are_tight_when_differences_are_big():
    worths = np.exp(np.linspace(3.0, -3.0, 8))
    rng = np.random.default_rng(8)
    picks = sample_top_n(np.tile(worths, (5000, 1)), 5, rng)
    r = Responses(picks, np.zeros(5000, dtype=np.int64), 8, 1)
    est = BordaRanker(random_state=0).fit(pick_stats(r)).districts_
    assert list(est.rank_low[0]) == list(range(1, 9))
    assert list(est.rank_high[0]) == list(range(1, 9))
    assert np.all(est.p_top[0][:3] > 0.99) and np.all(est.p_top[0][3:] < 0.01)


def test_stepdown_only_narrows(planted_stats):
    stats = planted_stats.by_district()
    step = BordaRanker(random_state=4).fit(stats).districts_
    single = BordaRanker(stepdown=False, random_state=4).fit(stats).districts_
    assert np.all(step.rank_low >= single.rank_low) and np.all(step.rank_high <= single.rank_high)
    assert np.all(step.rank_low <= step.rank) and np.all(step.rank <= step.rank_high)


def test_top3_probabilities_add_to_three(planted_stats):
    est = BordaRanker(random_state=5).fit(planted_stats.by_district()).districts_
    assert np.allclose(est.p_top.sum(axis=1), 3.0)


def test_cell_weights_on_stats_equal_row_weights(planted, planted_stats):
    r = planted.responses
    targets = {"age_band": planted.age_targets, "sex": planted.sex_targets}
    raker = Raker().fit(r.traits, r.district, targets, r.n_districts)
    cells = Raker().fit_cells(planted_stats.n, planted_stats.cell_levels, list(targets.values()))
    from_stats = BordaRanker(random_state=6).fit(
        planted_stats, weights=cells.cell_weights_, population=planted.population
    )
    from_rows = BordaRanker(random_state=6).fit(r, weights=raker.weights_, population=planted.population)
    for a, b in (
        (from_stats.districts_, from_rows.districts_),
        (from_stats.county_, from_rows.county_),
        (from_stats.county_weighted_, from_rows.county_weighted_),
    ):
        for name in ("mean", "cov", "first", "mention", "denominator", "effective_n"):
            assert np.allclose(getattr(a.moments, name), getattr(b.moments, name)), name
        assert (a.rank_low == b.rank_low).all() and (a.rank_high == b.rank_high).all()


def test_county_combines_districts_with_population_shares(planted_stats, planted):
    fit = BordaRanker(random_state=0).fit(planted_stats.by_district(), population=planted.population)
    d, c = fit.districts_.moments, fit.county_weighted_.moments
    share = planted.population / planted.population.sum()
    assert np.allclose(c.mean[0], share @ d.mean)
    assert np.allclose(c.cov[0], np.einsum("d,dij->ij", share**2, d.cov))
    pooled = fit.county_.moments
    assert pooled.n[0] == planted_stats.n.sum()
    assert np.allclose(pooled.mean[0], planted_stats.point_sum.sum(axis=(0, 1)) / pooled.n[0])


def test_bootstrap_needs_rows(planted_stats):
    with pytest.raises(ValueError):
        BordaRanker(interval="bootstrap").fit(planted_stats)


def test_competition_rank_and_adjustments():
    assert list(competition_rank(np.array([3.0, 5.0, 5.0, 1.0]))) == [3, 1, 1, 4]
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # Holm: sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1, made monotone
    assert np.allclose(holm(p), [0.03, 0.06, 0.06, 0.02])
    # BH: sorted 0.005*4/1, 0.01*4/2, 0.03*4/3, 0.04*4/4, then running minimum from the top
    assert np.allclose(benjamini_hochberg(p), [0.02, 0.04, 0.04, 0.02])
    assert np.isnan(holm(np.array([np.nan, 0.2])))[0]
