"""Plackett-Luce worths for top-N lists: a model-based check on the Borda order.

A top-N list is N successive first choices: the first pick among all the survey's issues, the
second among all issues but the first, and so on. Issues left unpicked stay in every choice
set: the list says they lost to each pick, and nothing about their order among themselves.
(Treating the list as a complete ranking of just the picked issues throws away that they beat
every unpicked issue, and biases worths towards issues picked rarely but early.)

Worths are fitted by Hunter's (2004) MM algorithm with a small Gamma prior on each worth, so an
issue nobody picked gets a small positive worth instead of breaking the fit. Identical lists are
compressed with counts first, so cost grows with distinct answers.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from analysis.data import NO_PICK, pattern_keys
from analysis.inference import competition_rank


def compress_picks(picks: np.ndarray, n_issues: int, sample_weight: np.ndarray | None = None):
    """Distinct pick rows and how many respondents (or how much weight) gave each: (rows, counts)."""
    keys = pattern_keys(picks, n_issues)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    weight = np.ones(len(keys)) if sample_weight is None else np.asarray(sample_weight, float)
    counts = np.bincount(inverse.reshape(-1), weights=weight, minlength=first.size)
    return picks[first], counts


class TopNPlackettLuce(BaseEstimator):
    """Plackett-Luce model for top-N lists, fitted by MM (Hunter 2004) with a Gamma(1 + r, r) prior.

    regularisation (r): prior strength, in pseudo-choices per issue; tiny by default, so it only
    matters for issues (almost) nobody picked. After fit: worths_ (summing to 1), rank_
    (1 = highest worth), n_iter_, converged_.
    """

    def __init__(self, regularisation: float = 0.01, max_iter: int = 2000, tol: float = 1e-7):
        self.regularisation = regularisation
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, picks: np.ndarray, n_issues: int, sample_weight: np.ndarray | None = None):
        """Fit worths to picks (n, N) in rank order, NO_PICK after the last pick."""
        rows, counts = compress_picks(np.asarray(picks), n_issues, sample_weight)
        valid = rows != NO_PICK
        safe = np.where(valid, rows, 0)
        chosen = rows[valid]
        # how often each issue was chosen, over all its choice events
        wins = np.bincount(chosen, weights=np.broadcast_to(counts[:, None], rows.shape)[valid], minlength=n_issues)
        reg = self.regularisation
        worth = np.ones(n_issues)
        self.converged_ = False
        it = 0
        while it < self.max_iter:
            it += 1
            wp = np.where(valid, worth[safe], 0.0)
            # the choice set at each step is every issue not already picked
            remaining = worth.sum() - (np.cumsum(wp, axis=1) - wp)
            inv = np.where(valid, counts[:, None] / remaining, 0.0)
            # an issue is in every choice set up to and including its own pick; after that it is not
            later = np.cumsum(inv[:, ::-1], axis=1)[:, ::-1] - inv
            exposure = inv.sum() - np.bincount(chosen, weights=later[valid], minlength=n_issues)
            new = (wins + reg) / (exposure + reg)
            # worths are only defined up to scale: keep them at mean 1, where the prior's mode is
            new *= n_issues / new.sum()
            change = np.abs(np.log(new) - np.log(worth)).max()
            worth = new
            if change < self.tol:
                self.converged_ = True
                break
        self.n_iter_ = it
        self.worths_ = worth / worth.sum()
        self.rank_ = competition_rank(self.worths_)
        return self

    def log_likelihood(self, picks: np.ndarray) -> float:
        """Top-N log-likelihood of picks under the fitted worths."""
        valid = picks != NO_PICK
        wp = np.where(valid, self.worths_[np.where(valid, picks, 0)], 0.0)
        remaining = self.worths_.sum() - (np.cumsum(wp, axis=1) - wp)
        return float(np.sum(np.where(valid, np.log(np.where(valid, wp, 1.0) / remaining), 0.0)))


def disagreements(pl_rank: np.ndarray, rank_low: np.ndarray, rank_high: np.ndarray) -> np.ndarray:
    """Issues whose Plackett-Luce rank falls outside Borda's rank confidence set (beyond noise)."""
    return (pl_rank < rank_low) | (pl_rank > rank_high)
