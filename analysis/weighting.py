"""Raking (iterative proportional fitting) of respondents to each district's population margins.

Weights are raked separately in every district, so each district's weighted answers match that
district's own population shares (age, sex, ... any number of margins). Respondents with the
same combination of answers on the margins ("cell") always get the same weight, so raking runs on
cell counts: the same code serves respondent rows and the web app's per-cell sufficient
statistics, and costs nothing at a million rows.

Unknown values (age band not given, "prefer not to say"): a respondent whose value on a margin is
unknown is left out of that margin's adjustment. Each step scales only the respondents who gave
a value, keeping their total weight fixed, so the targets are met among those who answered and
those who did not keep their weight; a respondent unknown on every margin keeps weight 1 (up to
the rescaling that follows any capping). Target categories nobody in the district answered are
dropped and the remaining targets rescaled to sum to 1.

Capping: after each sweep, weights above `cap` times the district mean are cut to that and all
weights rescaled to mean 1, repeated until no weight exceeds the cap. If the cap binds, margins
are met only approximately; margin_error_ reports how far off they are.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from analysis.data import cell_index


def kish(weights: np.ndarray, counts: np.ndarray | None = None) -> tuple[float, float]:
    """Kish design effect 1 + CV^2 of the weights, and effective sample size n / deff.

    counts: optional number of respondents carrying each weight (for cell weights).
    """
    w = np.asarray(weights, float)
    c = np.ones_like(w) if counts is None else np.asarray(counts, float)
    n, total, total_sq = c.sum(), (c * w).sum(), (c * w * w).sum()
    if n == 0 or total_sq == 0:
        return 1.0, 0.0
    deff = n * total_sq / total**2
    return float(deff), float(n / deff)


class Raker(BaseEstimator):
    """Rake weights to margins within each district, with a cap on any weight.

    cap: largest weight as a multiple of the district mean (None for no cap); tol: convergence
    tolerance on the weights; max_iter: most sweeps over the margins. After fit_cells (or fit):
    cell_weights_ (D, C), converged_ (D,), n_iter_ (D,), margin_error_ (D,), design_effect_ (D,),
    effective_n_ (D,); fit also sets weights_ (n,).
    """

    def __init__(self, cap: float | None = 5.0, tol: float = 1e-8, max_iter: int = 200):
        self.cap = cap
        self.tol = tol
        self.max_iter = max_iter

    def fit(
        self,
        traits: dict[str, np.ndarray],
        district: np.ndarray,
        targets: dict[str, np.ndarray],
        n_districts: int,
    ) -> Raker:
        """Rake respondent rows: traits name -> level (n,), -1 unknown; targets name -> (D, K) shares."""
        margins = list(targets)
        district = np.asarray(district, dtype=np.int64)
        cell, cell_levels = cell_index(traits, margins, district.size)
        n_cells = cell_levels.shape[0]
        counts = np.bincount(district * n_cells + cell, minlength=n_districts * n_cells)
        self.fit_cells(counts.reshape(n_districts, n_cells), cell_levels, [targets[m] for m in margins])
        self.weights_ = self.cell_weights_[district, cell]
        return self

    def fit_cells(self, n: np.ndarray, cell_levels: np.ndarray, targets: list[np.ndarray]) -> Raker:
        """Rake cell counts n (D, C) whose levels are cell_levels (C, M) to targets, one (D, K_m) per margin."""
        n = np.asarray(n, float)
        d_count = n.shape[0]
        self.cell_weights_ = np.ones_like(n)
        self.converged_ = np.ones(d_count, dtype=bool)
        self.n_iter_ = np.zeros(d_count, dtype=np.int64)
        self.margin_error_ = np.zeros(d_count)
        self.design_effect_ = np.ones(d_count)
        self.effective_n_ = n.sum(axis=1)
        for d in range(d_count):
            if n[d].sum() == 0:
                continue
            goals = [np.asarray(t, float)[d] for t in targets]
            w, it, ok = self._rake_one(n[d], cell_levels, goals)
            self.cell_weights_[d] = w
            self.n_iter_[d], self.converged_[d] = it, ok
            self.margin_error_[d] = _margin_error(n[d], w, cell_levels, goals)
            self.design_effect_[d], self.effective_n_[d] = kish(w, n[d])
        return self

    def _rake_one(self, n: np.ndarray, levels: np.ndarray, goals: list[np.ndarray]):
        """IPF for one district's cells: (weights, iterations, converged)."""
        w = np.ones_like(n)
        for it in range(1, self.max_iter + 1):
            before = w.copy()
            for m, goal in enumerate(goals):
                w = _adjust_margin(n, w, levels[:, m], goal)
            w = self._apply_cap(n, w)
            if np.abs(w - before).max() < self.tol:
                return w, it, True
        return w, self.max_iter, False

    def _apply_cap(self, n: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Cut weights above cap x mean and rescale to mean 1, until none is above."""
        total = n.sum()
        w = w * total / (n * w).sum()
        if self.cap is None:
            return w
        for _ in range(100):
            limit = self.cap * (n * w).sum() / total
            over = (w > limit * (1 + 1e-12)) & (n > 0)
            if not over.any():
                break
            w = np.where(over, limit, w)
            w = w * total / (n * w).sum()
        return w


def _adjust_margin(n: np.ndarray, w: np.ndarray, level: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """One IPF step: scale the respondents who gave a value so their shares match goal."""
    known = level >= 0
    weighted = n * w
    total_known = weighted[known].sum()
    if total_known == 0:
        return w
    current = np.bincount(level[known], weights=weighted[known], minlength=goal.size)
    present = current > 0
    goal = np.where(present, goal, 0.0)
    goal = goal / goal.sum()
    factor = np.where(present, goal * total_known / np.where(present, current, 1.0), 1.0)
    out = w.copy()
    out[known] *= factor[level[known]]
    return out


def _margin_error(n: np.ndarray, w: np.ndarray, levels: np.ndarray, goals: list[np.ndarray]) -> float:
    """Largest gap between a weighted share (among those who answered) and its target."""
    worst = 0.0
    for m, goal in enumerate(goals):
        known = levels[:, m] >= 0
        weighted = (n * w)[known]
        if weighted.sum() == 0:
            continue
        share = np.bincount(levels[known, m], weights=weighted, minlength=goal.size) / weighted.sum()
        present = share > 0
        target = np.where(present, goal, 0.0) / np.where(present, goal, 0.0).sum()
        worst = max(worst, float(np.abs(share - target).max()))
    return worst
