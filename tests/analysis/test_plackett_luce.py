"""Plackett-Luce for top-N lists: recovers planted worths; the complete-list shortcut does not."""

from __future__ import annotations

import numpy as np

from analysis.data import NO_PICK
from analysis.plackett_luce import TopNPlackettLuce, compress_picks, disagreements
from analysis.synthetic import sample_top_n

TRUE = np.exp(np.linspace(1.5, -1.5, 15))
TRUE = TRUE / TRUE.sum()


def _planted(n=5000, seed=0):
    return sample_top_n(np.tile(TRUE, (n, 1)), 5, np.random.default_rng(seed))


def _naive_complete_lists(picks, n_issues, iters=500):
    """The shortcut: each top-N list read as a full ranking of only the issues it names."""
    top = picks.shape[1]
    wins = np.bincount(picks[:, :-1].ravel(), minlength=n_issues) + 0.01
    w = np.ones(n_issues)
    for _ in range(iters):
        wp = w[picks]
        rest = np.cumsum(wp[:, ::-1], axis=1)[:, ::-1]  # the listed issues not yet placed
        inv = 1 / rest[:, :-1]
        exposure = np.zeros(n_issues)
        for s in range(top):
            exposure += np.bincount(picks[:, s], weights=inv[:, : min(s + 1, top - 1)].sum(1), minlength=n_issues)
        w = wins / (exposure + 0.01)
        w /= w.sum()
    return w


def test_recovers_planted_order_and_worths():
    model = TopNPlackettLuce().fit(_planted(), 15)
    assert model.converged_
    assert list(model.rank_) == list(range(1, 16))
    assert np.abs(np.log(model.worths_ / TRUE)).max() < 0.15


def test_complete_list_shortcut_is_biased():
    picks = _planted()
    right = np.log(TopNPlackettLuce().fit(picks, 15).worths_)
    naive = np.log(_naive_complete_lists(picks, 15))
    truth = np.log(TRUE)
    # the shortcut never sees a listed issue beat an unlisted one, so it squashes the worths
    assert np.std(naive) < 0.5 * np.std(truth)
    assert abs(np.std(right) / np.std(truth) - 1) < 0.1
    assert (
        np.abs(naive - naive.mean() - (truth - truth.mean())).max()
        > 5 * np.abs(right - right.mean() - (truth - truth.mean())).max()
    )


def test_never_picked_issue_gets_small_positive_worth():
    picks = _planted(2000)
    model = TopNPlackettLuce().fit(picks, 16)  # issue 15 is on the survey but nobody picked it
    assert np.all(np.isfinite(model.worths_))
    assert 0 < model.worths_[15] < model.worths_[:15].min()
    assert model.rank_[15] == 16


def test_short_lists_and_compression():
    picks = _planted(3000, seed=1)
    picks[::3, 2:] = NO_PICK  # a third of residents pick only two
    rows, counts = compress_picks(picks, 15)
    assert counts.sum() == 3000 and len(rows) < 3000
    full = TopNPlackettLuce().fit(picks, 15)
    compressed = TopNPlackettLuce().fit(rows, 15, sample_weight=counts)
    assert np.allclose(full.worths_, compressed.worths_, atol=1e-9)
    assert list(full.rank_) == list(range(1, 16))


def test_fit_maximises_the_likelihood():
    picks = _planted(1000, seed=2)
    model = TopNPlackettLuce(regularisation=1e-9, tol=1e-10).fit(picks, 15)
    best = model.log_likelihood(picks)
    rng = np.random.default_rng(0)
    for _ in range(5):
        other = TopNPlackettLuce()
        other.worths_ = model.worths_ * np.exp(rng.normal(0, 0.05, 15))
        assert other.log_likelihood(picks) < best


def test_disagreements_flag_ranks_outside_the_set():
    flags = disagreements(np.array([1, 2, 5]), np.array([1, 1, 2]), np.array([2, 3, 4]))
    assert list(flags) == [False, False, True]
