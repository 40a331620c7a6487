"""Residents' opinion groups, in the spirit of Pol.is: k-means on each resident's Borda points.

Made for a million rows: k-means is fitted on a random sample of respondents, with identical
answers compressed into one point weighted by its count (np.unique on one int64 key per row).
The number of groups is chosen by silhouette on a smaller sample, stability is the mean adjusted
Rand index between the chosen fit and refits on bootstrap resamples, and then every respondent is
assigned to the nearest group straight from their picks, in chunks.

A group is described by its defining issues: those it mentions significantly more often than all
other respondents (two-proportion z-test, Holm-adjusted across groups x issues).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, pairwise_distances

from analysis.clusters import silhouette
from analysis.data import NO_PICK, borda_points, pattern_keys
from analysis.inference import holm, two_sided_p


class ResidentGroups(BaseEstimator):
    """k-means opinion groups over residents' Borda points, k by silhouette, stability by resampling.

    After fit: n_groups_, silhouette_, silhouettes_ {k: score}, stability_, labels_ (n,),
    sizes_ (k,), centres_ (k, I) mean points, mention_share_ (k, I), defining_ (per group a list
    of (issue, group share, rest share, z, p_adjusted)), district_counts_ (k, D) when districts
    are given, fitted_on_ (rows in the fitting sample).
    """

    def __init__(
        self,
        max_groups: int = 6,
        sample_size: int = 20_000,
        silhouette_size: int = 2_000,
        n_resamples: int = 3,
        n_init: int = 3,
        alpha: float = 0.05,
        n_defining: int = 3,
        random_state: int | None = None,
    ):
        self.max_groups = max_groups
        self.sample_size = sample_size
        self.silhouette_size = silhouette_size
        self.n_resamples = n_resamples
        self.n_init = n_init
        self.alpha = alpha
        self.n_defining = n_defining
        self.random_state = random_state

    def fit(
        self,
        picks: np.ndarray,
        n_issues: int,
        district: np.ndarray | None = None,
        n_districts: int | None = None,
    ) -> ResidentGroups:
        """Find groups among respondents' picks (n, N); district (n,) adds shares per district."""
        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(2**31 - 1))
        n = picks.shape[0]
        sample = rng.choice(n, size=min(self.sample_size, n), replace=False)
        self.fitted_on_ = int(sample.size)
        # identical answers in the sample become one weighted point
        _, first, inverse, weight = np.unique(
            pattern_keys(picks[sample], n_issues), return_index=True, return_inverse=True, return_counts=True
        )
        points = borda_points(picks[sample[first]], n_issues)
        weight = weight.astype(float)
        sil = inverse.reshape(-1)[: min(self.silhouette_size, sample.size)]

        # one distance matrix serves every candidate k; scan fits stop a little early (tol) since
        # they only rank the candidates, the chosen k is refitted in full below
        distance = pairwise_distances(points[sil])
        self.silhouettes_ = {}
        for k in range(2, min(self.max_groups, first.size - 1) + 1):
            km = KMeans(n_clusters=k, n_init=1, tol=1e-3, random_state=seed).fit(points, sample_weight=weight)
            labels = km.predict(points[sil])
            if np.unique(labels).size > 1:
                self.silhouettes_[k] = silhouette(distance, np.unique(labels, return_inverse=True)[1].reshape(-1))
        if not self.silhouettes_:
            raise ValueError("too few distinct answers to form opinion groups")
        k = max(self.silhouettes_, key=lambda j: (self.silhouettes_[j], -j))
        model = KMeans(n_clusters=k, n_init=self.n_init, random_state=seed).fit(points, sample_weight=weight)
        self.n_groups_, self.silhouette_ = k, self.silhouettes_[k]

        reference = model.predict(points[sil])
        scores = []
        for b in range(self.n_resamples):
            redraw = rng.multinomial(sample.size, weight / sample.size).astype(float)
            keep = redraw > 0
            refit = KMeans(n_clusters=k, n_init=1, tol=1e-3, random_state=seed + b + 1)
            refit.fit(points[keep], sample_weight=redraw[keep])
            scores.append(adjusted_rand_score(reference, refit.predict(points[sil])))
        self.stability_ = float(np.mean(scores)) if scores else float("nan")

        labels = assign(picks, model.cluster_centers_)
        # order groups largest first, so labels read well and repeat between runs
        sizes = np.bincount(labels, minlength=k)
        order = np.argsort(-sizes, kind="stable")
        relabel = np.empty(k, dtype=np.int64)
        relabel[order] = np.arange(k)
        self.labels_ = relabel[labels]
        self.sizes_ = sizes[order]
        top = picks.shape[1]
        # column by column, an empty slot counted in a spare issue column that is then dropped
        width = n_issues + 1
        base = self.labels_ * width
        mention_counts = np.zeros(k * width)
        point_sums = np.zeros(k * width)
        for col in range(top):
            slot = np.where(picks[:, col] == NO_PICK, n_issues, picks[:, col])
            at = np.bincount(base + slot, minlength=k * width)
            mention_counts += at
            point_sums += (top - col) * at
        mention_counts = mention_counts.reshape(k, width)[:, :n_issues]
        self.centres_ = point_sums.reshape(k, width)[:, :n_issues] / np.maximum(self.sizes_, 1)[:, None]
        self._describe(mention_counts, n)
        if district is not None:
            d_count = int(n_districts if n_districts is not None else district.max() + 1)
            flat = np.bincount(self.labels_ * d_count + district, minlength=k * d_count)
            self.district_counts_ = flat.reshape(k, d_count)
        return self

    def _describe(self, group_mentions: np.ndarray, n: int) -> None:
        """Defining issues: mentioned more in the group than by the rest (two-proportion z-test)."""
        size = self.sizes_[:, None].astype(float)
        rest = n - size
        total = group_mentions.sum(axis=0, keepdims=True)
        p_group = group_mentions / size
        p_rest = np.where(rest > 0, (total - group_mentions) / np.where(rest > 0, rest, 1), 0.0)
        pooled = total / n
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(pooled * (1 - pooled) * (1 / size + 1 / rest))
            z = np.where(se > 0, (p_group - p_rest) / se, np.nan)
        p_adj = holm(two_sided_p(z).ravel()).reshape(z.shape)
        self.mention_share_ = p_group
        self.defining_ = []
        for g in range(z.shape[0]):
            lift = np.where((p_adj[g] < self.alpha) & (z[g] > 0), p_group[g] - p_rest[g], -np.inf)
            top = [i for i in np.argsort(-lift, kind="stable") if np.isfinite(lift[i])]
            self.defining_.append(
                [(int(i), p_group[g, i], p_rest[g, i], z[g, i], p_adj[g, i]) for i in top[: self.n_defining]]
            )


def assign(picks: np.ndarray, centres: np.ndarray, chunk: int = 250_000) -> np.ndarray:
    """Nearest centre for every respondent, straight from the picks (no n x I points matrix).

    ||y - c||^2 = ||y||^2 - 2 y.c + ||c||^2; the first term is the same for every centre and y.c
    is a sum over the N picks, so each row costs N look-ups in small per-position tables.
    """
    n, top = picks.shape
    n_groups, n_issues = centres.shape
    padded = np.vstack([centres.T, np.zeros((1, n_groups))])  # row n_issues: an empty slot
    tables = [-2.0 * (top - col) * padded for col in range(top)]
    c_sq = (centres**2).sum(axis=1)
    labels = np.empty(n, dtype=np.int64)
    for lo in range(0, n, chunk):
        block = picks[lo : lo + chunk]
        block = np.where(block == NO_PICK, n_issues, block)
        score = tables[0][block[:, 0]] + c_sq
        for col in range(1, top):
            score += tables[col][block[:, col]]
        labels[lo : lo + chunk] = score.argmin(axis=1)
    return labels
