"""Shared inference: normal tail areas, multiple-comparison adjustments and confidence sets for ranks.

The rank sets follow Mogstad, Romano, Shaikh and Wilhelm (2023, RES), "Inference for ranks":
all pairwise differences of mean points are tested at once with one critical value, the
(1 - alpha) quantile of the largest |t| across pairs, taken from draws of the estimates (a
bootstrap, or Gaussian draws from their estimated covariance). Issue j's rank is then at least
1 + #{k significantly above j} and at most I - #{k significantly below j}, for every issue at
once with probability about 1 - alpha. The step-down refinement recomputes the critical value
over the pairs not yet separated, which can only narrow the sets and keeps the joint coverage.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

_NORMAL = NormalDist()
_erfc = np.frompyfunc(math.erfc, 1, 1)


def z_value(alpha: float) -> float:
    """Two-sided standard normal critical value: 1.96 for alpha = 0.05."""
    return _NORMAL.inv_cdf(1 - alpha / 2)


def two_sided_p(z: np.ndarray) -> np.ndarray:
    """Two-sided normal p-values for z statistics (nan stays nan)."""
    z = np.asarray(z, dtype=float)
    p = _erfc(np.abs(np.nan_to_num(z, nan=0.0)) / math.sqrt(2)).astype(float)
    return np.where(np.isnan(z), np.nan, p)


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error), nan ignored."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    vals = p[ok]
    m = vals.size
    if m == 0:
        return out
    order = np.argsort(vals)
    stepped = np.maximum.accumulate((m - np.arange(m)) * vals[order])
    adj = np.empty(m)
    adj[order] = np.minimum(stepped, 1.0)
    out[ok] = adj
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate), nan ignored."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    vals = p[ok]
    m = vals.size
    if m == 0:
        return out
    order = np.argsort(vals)
    scaled = vals[order] * m / np.arange(1, m + 1)
    # the adjusted value is the smallest scaled p at or above this one's position
    adj_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    adj = np.empty(m)
    adj[order] = np.minimum(adj_sorted, 1.0)
    out[ok] = adj
    return out


def adjust(p: np.ndarray, method: str) -> np.ndarray:
    """Adjust p-values by "holm" or "bh" (Benjamini-Hochberg)."""
    if method == "holm":
        return holm(p)
    if method == "bh":
        return benjamini_hochberg(p)
    raise ValueError(f"unknown adjustment {method!r}: use 'holm' or 'bh'")


def competition_rank(values: np.ndarray) -> np.ndarray:
    """Rank along the last axis, 1 = largest; ties share the best rank (1, 2, 2, 4)."""
    values = np.asarray(values, dtype=float)
    return 1 + (values[..., None, :] > values[..., :, None]).sum(axis=-1)


def gaussian_draws(cov: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Centred draws (n_draws, I) from N(0, cov); cov may be singular (points sum to a constant)."""
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    return rng.standard_normal((n_draws, cov.shape[0])) @ root.T


def pair_se_from_cov(cov: np.ndarray) -> np.ndarray:
    """Standard error of every pairwise difference, (I, I), from the covariance of the means."""
    d = np.diag(cov)
    return np.sqrt(np.clip(d[:, None] + d[None, :] - 2 * cov, 0.0, None))


def pair_se_from_draws(draws: np.ndarray) -> np.ndarray:
    """Standard error of every pairwise difference, (I, I), from draws of the means."""
    return pair_se_from_cov(np.cov(draws, rowvar=False, ddof=1))


def rank_sets(
    mean: np.ndarray,
    draws: np.ndarray,
    pair_se: np.ndarray,
    alpha: float = 0.05,
    stepdown: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point rank and simultaneous (1 - alpha) rank bounds for every issue.

    mean: (I,) estimates; draws: (B, I) centred draws of the estimates (estimate* - estimate);
    pair_se: (I, I). Returns (rank, lower, upper), 1 = top.
    """
    n_issues = mean.size
    rank = competition_rank(mean)
    if n_issues < 2:
        return rank, rank.copy(), rank.copy()
    j, k = np.triu_indices(n_issues, 1)
    se = pair_se[j, k]
    diff = mean[j] - mean[k]
    tiny = 1e-12 * max(1.0, float(np.abs(mean).max()))
    usable = se > tiny
    # a difference with no sampling variance at all (e.g. everybody ranked both issues the same
    # way) is certain; one of zero with zero variance is a tie, never separated
    separated = ~usable & (np.abs(diff) > tiny)
    pairs = np.flatnonzero(usable)
    if pairs.size:
        t_obs = np.abs(diff[pairs]) / se[pairs]
        order = np.argsort(-t_obs, kind="stable")
        pairs, t_obs = pairs[order], t_obs[order]
        # |t*| of every pair in every draw as one product: column p holds +1/se at j, -1/se at k
        contrast = np.zeros((n_issues, pairs.size))
        contrast[j[pairs], np.arange(pairs.size)] = 1 / se[pairs]
        contrast[k[pairs], np.arange(pairs.size)] = -1 / se[pairs]
        t_null = np.abs(draws @ contrast)
        # the pairs still in play are always those with the smallest |t|, a suffix in this order,
        # so the step-down's max over them is a running max from the right
        tail_max = np.maximum.accumulate(t_null[:, ::-1], axis=1)[:, ::-1]
        done = 0
        while done < pairs.size:
            crit = np.quantile(tail_max[:, done], 1 - alpha)
            reach = int(np.searchsorted(-t_obs, -crit, side="left"))  # pairs with |t| > crit
            if reach <= done:
                break
            done = reach
            if not stepdown:
                break
        separated[pairs[:done]] = True

    above = np.zeros((n_issues, n_issues), dtype=bool)  # above[a, b]: a significantly above b
    sj, sk = j[separated], k[separated]
    j_high = diff[separated] > 0
    above[sj[j_high], sk[j_high]] = True
    above[sk[~j_high], sj[~j_high]] = True
    lower = 1 + above.sum(axis=0)
    upper = n_issues - above.sum(axis=1)
    return rank, lower, upper


def prob_top(values: np.ndarray, top: int = 3) -> np.ndarray:
    """Share of draws (B, I) in which each issue is among the `top` highest (ties included)."""
    n_issues = values.shape[1]
    if top >= n_issues:
        return np.ones(n_issues)
    cut = np.partition(values, n_issues - top, axis=1)[:, n_issues - top]
    return (values >= cut[:, None]).mean(axis=0)
