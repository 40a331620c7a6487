"""Borda ranking of issues per district and for the county, with honest uncertainty.

Every issue gets its shares, mean Borda points (N for a first choice down to 1 for the Nth), a
0-100 priority score, a confidence interval and a simultaneous confidence set for its rank (see
`analysis.inference`). Uncertainty comes either from Gaussian draws using the covariance of the
mean points, which needs only the sufficient statistics (`PickStats`), or from a bootstrap that
resamples respondents within district, which needs respondent rows.
"""

from __future__ import annotations

import msgspec
import numpy as np
from sklearn.base import BaseEstimator

from analysis.data import PickStats, Responses, borda_points, pattern_keys, pick_stats
from analysis.inference import (
    gaussian_draws,
    pair_se_from_cov,
    pair_se_from_draws,
    prob_top,
    rank_sets,
    z_value,
)


class Moments(msgspec.Struct):
    """Weighted first and second moments of the picks for G groups: all the ranking needs.

    first / mention: weighted numbers of first choices / mentions (G, I) over denominator (G,),
    the sum of weights; mean: (G, I) mean points; cov: (G, I, I) covariance of the mean points.
    """

    n: np.ndarray
    denominator: np.ndarray
    effective_n: np.ndarray
    first: np.ndarray
    mention: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    max_picks: int


def moments_from_stats(stats: PickStats, cell_weights: np.ndarray | None = None) -> Moments:
    """Per-district moments from sufficient statistics, optionally with a weight per (district, cell).

    The covariance is the linearised (sandwich) variance of a weighted mean,
    sum w^2 (y - m)(y - m)' / W^2, expanded so that it needs only the cell sums; unweighted it is
    (crossprod / n - m m') / n.
    """
    w = np.ones(stats.n.shape) if cell_weights is None else np.asarray(cell_weights, float)
    n_w = stats.n * w
    total = n_w.sum(axis=1)
    total_sq = (n_w * w).sum(axis=1)
    first = np.einsum("dc,dci->di", w, stats.counts[..., 0])
    mention = np.einsum("dc,dci->di", w, stats.counts.sum(axis=-1))
    sums = np.einsum("dc,dci->di", w, stats.point_sum)
    safe = np.where(total > 0, total, 1.0)
    mean = sums / safe[:, None]
    w2 = w * w
    sq_sums = np.einsum("dc,dci->di", w2, stats.point_sum)
    cross = np.einsum("dc,dcij->dij", w2, stats.point_cross)
    outer = sq_sums[:, :, None] * mean[:, None, :]
    spread = cross - outer - outer.transpose(0, 2, 1)
    spread += total_sq[:, None, None] * mean[:, :, None] * mean[:, None, :]
    cov = spread / (safe**2)[:, None, None]
    eff = np.where(total_sq > 0, total**2 / np.where(total_sq > 0, total_sq, 1.0), 0.0)
    return Moments(
        n=stats.n.sum(axis=1),
        denominator=total,
        effective_n=eff,
        first=first,
        mention=mention,
        mean=mean,
        cov=cov,
        max_picks=stats.max_picks,
    )


def pool_stats(stats: PickStats) -> PickStats:
    """All districts' statistics added together (the county's respondents pooled), cells kept."""
    return PickStats(
        n=stats.n.sum(axis=0, keepdims=True),
        counts=stats.counts.sum(axis=0, keepdims=True),
        point_sum=stats.point_sum.sum(axis=0, keepdims=True),
        point_cross=stats.point_cross.sum(axis=0, keepdims=True),
        max_picks=stats.max_picks,
        cell_levels=stats.cell_levels,
        margins=stats.margins,
    )


def population_shares(population: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Districts' shares of the population, renormalised over the districts that have answers."""
    pop = np.where(np.asarray(n) > 0, np.asarray(population, float), 0.0)
    if pop.sum() <= 0:
        raise ValueError("no district with both answers and population")
    return pop / pop.sum()


def combine_districts(moments: Moments, shares: np.ndarray) -> Moments:
    """County moments as a share-weighted sum of district moments (variances with squared shares).

    Shares and means are combined directly, so the result reports shares over a denominator of 1.
    """
    safe = np.where(moments.denominator > 0, moments.denominator, 1.0)[:, None]
    eff = moments.effective_n
    inv_eff = np.sum(np.where(shares > 0, shares**2 / np.where(eff > 0, eff, 1.0), 0.0))
    return Moments(
        n=np.array([moments.n.sum()]),
        denominator=np.array([1.0]),
        effective_n=np.array([1.0 / inv_eff if inv_eff > 0 else 0.0]),
        first=(shares[:, None] * moments.first / safe).sum(axis=0, keepdims=True),
        mention=(shares[:, None] * moments.mention / safe).sum(axis=0, keepdims=True),
        mean=(shares[:, None] * moments.mean).sum(axis=0, keepdims=True),
        cov=np.einsum("d,dij->ij", shares**2, moments.cov)[None],
        max_picks=moments.max_picks,
    )


class Estimates(msgspec.Struct):
    """Ranking results for G groups over I issues; mean points and their intervals, rank sets."""

    moments: Moments
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    rank: np.ndarray
    rank_low: np.ndarray
    rank_high: np.ndarray
    p_top: np.ndarray
    weighted: bool

    @property
    def score(self) -> np.ndarray:
        """Priority score 0-100: mean points as a share of the most an issue can get (N)."""
        return self.moments.mean / self.moments.max_picks * 100


def _infer(moments: Moments, draws: list[np.ndarray | None], ranker: BordaRanker, weighted: bool) -> Estimates:
    """Rank sets, intervals and top-k probabilities for each group from its centred draws."""
    g, i = moments.mean.shape
    se = np.zeros((g, i))
    low, high, p_top = np.zeros((g, i)), np.zeros((g, i)), np.full((g, i), np.nan)
    rank = np.ones((g, i), dtype=np.int64)
    rank_low = np.ones((g, i), dtype=np.int64)
    rank_high = np.full((g, i), i, dtype=np.int64)
    z = z_value(ranker.alpha)
    for row in range(g):
        mean, d = moments.mean[row], draws[row]
        if moments.n[row] == 0 or d is None:
            continue
        if ranker.interval == "gaussian":
            se[row] = np.sqrt(np.clip(np.diag(moments.cov[row]), 0, None))
            pair_se = pair_se_from_cov(moments.cov[row])
            low[row], high[row] = mean - z * se[row], mean + z * se[row]
        else:
            se[row] = d.std(axis=0, ddof=1)
            pair_se = pair_se_from_draws(d)
            q = np.quantile(mean + d, [ranker.alpha / 2, 1 - ranker.alpha / 2], axis=0)
            low[row], high[row] = q[0], q[1]
        rank[row], rank_low[row], rank_high[row] = rank_sets(mean, d, pair_se, ranker.alpha, ranker.stepdown)
        p_top[row] = prob_top(mean + d, ranker.top)
    top = moments.max_picks
    return Estimates(
        moments=moments,
        se=se,
        ci_low=np.clip(low, 0, top),
        ci_high=np.clip(high, 0, top),
        rank=rank,
        rank_low=rank_low,
        rank_high=rank_high,
        p_top=p_top,
        weighted=weighted,
    )


class BordaRanker(BaseEstimator):
    """Borda ranking with rank confidence sets, per district, pooled county and population-weighted county.

    interval: "gaussian" (draws from the covariance of mean points; works from `PickStats`) or
    "bootstrap" (resamples respondents within district; needs `Responses`). n_draws: Gaussian
    draws or bootstrap replicates (B). top: the k of the "in the top k" probability.
    After fit: districts_ (G = D), county_ (pooled respondents, G = 1), county_weighted_
    (districts combined with population shares, G = 1, None without population).
    """

    def __init__(
        self,
        alpha: float = 0.05,
        interval: str = "gaussian",
        n_draws: int = 2000,
        stepdown: bool = True,
        top: int = 3,
        random_state: int | None = None,
    ):
        self.alpha = alpha
        self.interval = interval
        self.n_draws = n_draws
        self.stepdown = stepdown
        self.top = top
        self.random_state = random_state

    def fit(
        self,
        X: PickStats | Responses,
        weights: np.ndarray | None = None,
        population: np.ndarray | None = None,
    ) -> BordaRanker:
        """Fit from sufficient statistics (weights per (district, cell)) or respondent rows (per row)."""
        if self.interval not in ("gaussian", "bootstrap"):
            raise ValueError("interval must be 'gaussian' or 'bootstrap'")
        rng = np.random.default_rng(self.random_state)
        if isinstance(X, Responses):
            row_w = X.weights if weights is None else np.asarray(weights, float)
            cell_w = None
            if row_w is not None:
                moments = _moments_from_rows(X, row_w)
            else:
                stats = pick_stats(X)
                moments = moments_from_stats(stats)
        else:
            if self.interval == "bootstrap":
                raise ValueError("the bootstrap resamples respondents: pass Responses, not PickStats")
            stats, cell_w, row_w = X, weights, None
            moments = moments_from_stats(stats, cell_w)
        weighted = row_w is not None or cell_w is not None

        if cell_w is None and row_w is None:
            pooled = moments_from_stats(pool_stats(stats.by_district()))
        elif row_w is not None:
            pooled = _moments_from_rows(X, row_w, pooled=True)
        else:
            pooled = _pooled_weighted(stats, cell_w)
        shares = None if population is None else population_shares(population, moments.n)
        combined = None if shares is None else combine_districts(moments, shares)

        if self.interval == "gaussian":

            def draws_for(m: Moments) -> list[np.ndarray | None]:
                """Gaussian draws from each group's covariance (None for a group without answers)."""
                return [
                    gaussian_draws(m.cov[g], self.n_draws, rng) if m.n[g] > 0 else None for g in range(m.mean.shape[0])
                ]

            d_draws, p_draws = draws_for(moments), draws_for(pooled)
            c_draws = None if combined is None else draws_for(combined)
        else:
            means = _bootstrap_means(X, row_w, self.n_draws, rng)  # (B, D, I) and sums of weights
            d_draws, p_draws, c_draws = _bootstrap_draws(means, moments, pooled, combined, shares)

        self.districts_ = _infer(moments, d_draws, self, weighted)
        self.county_ = _infer(pooled, p_draws, self, weighted)
        self.county_weighted_ = None if combined is None else _infer(combined, c_draws, self, weighted)
        return self


def _pooled_weighted(stats: PickStats, cell_w: np.ndarray) -> Moments:
    """Pooled county moments with each district's own cell weights kept."""
    flat = PickStats(
        n=stats.n.reshape(1, -1),
        counts=stats.counts.reshape((1, -1, *stats.counts.shape[2:])),
        point_sum=stats.point_sum.reshape((1, -1, *stats.point_sum.shape[2:])),
        point_cross=stats.point_cross.reshape((1, -1, *stats.point_cross.shape[2:])),
        max_picks=stats.max_picks,
        cell_levels=np.zeros((stats.n.size, 0), dtype=np.int64),
    )
    return moments_from_stats(flat, np.asarray(cell_w, float).reshape(1, -1))


def _moments_from_rows(responses: Responses, weights: np.ndarray, pooled: bool = False) -> Moments:
    """Weighted moments straight from respondent rows (one group per district, or one pooled)."""
    y = borda_points(responses.picks, responses.n_issues)
    group = np.zeros(len(responses), dtype=np.int64) if pooled else responses.district
    n_groups = 1 if pooled else responses.n_districts
    n_issues, top = responses.n_issues, responses.max_picks
    out = {k: [] for k in ("n", "den", "eff", "first", "mention", "mean", "cov")}
    for g in range(n_groups):
        rows = group == g
        yg, wg = y[rows], weights[rows]
        total = wg.sum()
        mean = (wg @ yg) / total if total > 0 else np.zeros(n_issues)
        resid = (yg - mean) * wg[:, None]
        out["n"].append(rows.sum())
        out["den"].append(total)
        out["eff"].append(total**2 / (wg @ wg) if total > 0 else 0.0)
        out["first"].append(wg @ (yg == top))
        out["mention"].append(wg @ (yg > 0))
        out["mean"].append(mean)
        out["cov"].append(resid.T @ resid / total**2 if total > 0 else np.zeros((n_issues,) * 2))
    return Moments(
        n=np.array(out["n"]),
        denominator=np.array(out["den"], float),
        effective_n=np.array(out["eff"], float),
        first=np.array(out["first"], float),
        mention=np.array(out["mention"], float),
        mean=np.array(out["mean"]),
        cov=np.array(out["cov"]),
        max_picks=top,
    )


def _bootstrap_means(
    responses: Responses, weights: np.ndarray | None, n_boot: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap replicates of each district's weighted point sums and weight sums.

    Respondents are resampled within district (a stratified bootstrap: district sizes stay
    fixed). Identical answers (same picks, same weight) are compressed first and resampled with a
    multinomial, so the cost grows with distinct answers, not respondents.
    """
    d_count, n_issues = responses.n_districts, responses.n_issues
    sums = np.zeros((n_boot, d_count, n_issues))
    wsum = np.zeros((n_boot, d_count))
    keys = pattern_keys(responses.picks, n_issues)
    w = np.ones(len(responses)) if weights is None else np.asarray(weights, float)
    for d in range(d_count):
        rows = np.flatnonzero(responses.district == d)
        if rows.size == 0:
            continue
        pair = np.stack([keys[rows], w[rows].view(np.int64)], axis=1)
        _uniq, first_row, counts = np.unique(pair, axis=0, return_index=True, return_counts=True)
        picked = rows[first_row]
        y = borda_points(responses.picks[picked], n_issues)
        draws = rng.multinomial(rows.size, counts / rows.size, size=n_boot)
        wsum[:, d] = draws @ w[picked]
        sums[:, d] = draws @ (y * w[picked][:, None])
    return sums, wsum


def _bootstrap_draws(boot, moments, pooled, combined, shares):
    """Centred bootstrap draws for districts, the pooled county and the population-weighted county."""
    sums, wsum = boot
    safe = np.where(wsum > 0, wsum, 1.0)
    means = sums / safe[..., None]  # (B, D, I)
    d_draws = [means[:, d] - moments.mean[d] if moments.n[d] > 0 else None for d in range(means.shape[1])]
    pooled_mean = sums.sum(axis=1) / wsum.sum(axis=1)[:, None]
    p_draws = [pooled_mean - pooled.mean[0]]
    c_draws = None
    if combined is not None:
        c_draws = [np.einsum("d,bdi->bi", shares, means) - combined.mean[0]]
    return d_draws, p_draws, c_draws
