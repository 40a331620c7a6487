"""Groups of districts with similar concerns: Ward clustering of their issue profiles.

Each district's profile is its vector of priority scores (0-100, one per issue). The Ward tree
(sklearn AgglomerativeClustering) is cut at 2..6 groups (never more than districts - 1, where
silhouette stops being defined) and the cut with the best silhouette is kept.

"No distinct groups" is reported unless the best silhouette passes two bars:
- `threshold` (0.25 by default, Kaufman and Rousseeuw's line below which structure is "weak or
  artificial"), and
- what sampling noise alone reaches: with each district's sampling covariance given, profiles
  are redrawn `n_null` times as pure noise (every district the same true profile) and the best
  silhouette must beat the (1 - null_level) quantile of theirs. Fourteen noisy points in twenty
  dimensions easily reach 0.3 by chance, most of all when a few small districts are outliers.
A group is named by its defining issues: where its mean profile most exceeds the mean of all
districts.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cluster import AgglomerativeClustering


def ward_cuts(profiles: np.ndarray, ks: range) -> dict[int, np.ndarray]:
    """Ward labels for each number of groups in ks, from one full tree."""
    n = profiles.shape[0]
    tree = AgglomerativeClustering(n_clusters=None, distance_threshold=0, linkage="ward", compute_full_tree=True).fit(
        profiles
    )
    out = {}
    for k in ks:
        owner = np.arange(2 * n - 1)
        for step, (a, b) in enumerate(tree.children_[: n - k]):
            owner[a] = owner[b] = n + step
        root = np.arange(n)
        for _ in range(n):  # follow merges up to the node each leaf belongs to at this cut
            nxt = owner[root]
            if (nxt == root).all():
                break
            root = nxt
        out[k] = np.unique(root, return_inverse=True)[1].reshape(-1)
    return out


def silhouette(distance: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette from a distance matrix (as sklearn: 0 for a point alone in its group)."""
    groups = labels.max() + 1
    member = np.eye(groups)[labels]  # (n, k)
    size = member.sum(axis=0)
    sums = distance @ member  # distance from each point to each group, summed
    own = size[labels]
    a = np.where(own > 1, sums[np.arange(labels.size), labels] / np.maximum(own - 1, 1), 0.0)
    other = np.where(member > 0, np.inf, sums / size)
    b = other.min(axis=1)
    s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
    return float(s.mean())


def _best(profiles: np.ndarray, max_groups: int) -> tuple[dict[int, float], dict[int, np.ndarray]]:
    """Silhouette of every Ward cut from 2 to max_groups groups."""
    n = profiles.shape[0]
    ks = range(2, min(max_groups, n - 1) + 1)
    if len(ks) == 0:
        return {}, {}
    cuts = ward_cuts(profiles, ks)
    diff = profiles[:, None, :] - profiles[None, :, :]
    distance = np.sqrt((diff**2).sum(axis=-1))
    return {k: silhouette(distance, cuts[k]) for k in ks}, cuts


def defining_issues(profiles: np.ndarray, labels: np.ndarray, n_defining: int = 3) -> list[np.ndarray]:
    """Per group, the issues (indexes) where its mean profile most exceeds the overall mean."""
    overall = profiles.mean(axis=0)
    out = []
    for g in range(labels.max() + 1):
        lift = profiles[labels == g].mean(axis=0) - overall
        order = np.argsort(-lift, kind="stable")
        out.append(order[lift[order] > 0][:n_defining])
    return out


class DistrictClusters(BaseEstimator):
    """Ward clustering of district profiles, groups chosen by silhouette and checked against noise.

    After fit: silhouettes_ {k: score}, silhouette_ (best; nan under 3 districts), noise_silhouette_
    (the null quantile, nan without noise covariances), distinct_, n_groups_ (1 when not
    distinct), labels_, defining_ (issue indexes per group).
    """

    def __init__(
        self,
        max_groups: int = 6,
        threshold: float = 0.25,
        n_null: int = 60,
        null_level: float = 0.05,
        n_defining: int = 3,
        random_state: int | None = None,
    ):
        self.max_groups = max_groups
        self.threshold = threshold
        self.n_null = n_null
        self.null_level = null_level
        self.n_defining = n_defining
        self.random_state = random_state

    def fit(self, profiles: np.ndarray, noise: np.ndarray | None = None) -> DistrictClusters:
        """Cluster profiles (districts x issues); noise: each profile's sampling covariance (D, I, I)."""
        profiles = np.asarray(profiles, float)
        n = profiles.shape[0]
        self.silhouettes_, cuts = _best(profiles, self.max_groups)
        self.silhouette_ = max(self.silhouettes_.values()) if self.silhouettes_ else float("nan")
        self.noise_silhouette_ = float("nan")
        if noise is not None and self.silhouettes_:
            rng = np.random.default_rng(self.random_state)
            roots = []
            for cov in noise:
                vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
                roots.append(vecs * np.sqrt(np.clip(vals, 0, None)))
            null = []
            for _ in range(self.n_null):
                fake = np.stack([r @ rng.standard_normal(r.shape[1]) for r in roots])
                null.append(max(_best(fake, self.max_groups)[0].values()))
            self.noise_silhouette_ = float(np.quantile(null, 1 - self.null_level))
        beats_noise = not (self.noise_silhouette_ >= self.silhouette_)  # nan: no noise check
        self.distinct_ = bool(self.silhouette_ >= self.threshold and beats_noise)
        if self.distinct_:
            k_best = max(self.silhouettes_, key=lambda k: (self.silhouettes_[k], -k))
            self.labels_ = cuts[k_best]
        else:
            self.labels_ = np.zeros(n, dtype=np.int64)
        self.n_groups_ = int(self.labels_.max() + 1) if n else 0
        self.defining_ = defining_issues(profiles, self.labels_, self.n_defining) if n else []
        return self
