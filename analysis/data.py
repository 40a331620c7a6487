"""The two shapes answers come in: respondent rows, and the sufficient statistics of their picks.

Respondent rows (`Responses`) hold each resident's picks in rank order. At scale the web app
keeps `PickStats` instead: per district and weighting cell, the count cube of who put which
issue where, and the first two moments of the Borda points. Everything the issue ranking
needs (shares, mean points, their covariance, raking) comes from `PickStats`, so its cost grows
with districts x cells x issues, never with respondents.
"""

from __future__ import annotations

import msgspec
import numpy as np

NO_PICK = -1  # marks an empty slot in a picks row, and an unknown trait (age band, sex)


class Responses(msgspec.Struct):
    """Respondent rows: each resident's ranked picks, district and optional traits for weighting.

    picks: int (n, max_picks), issue indexes in rank order, column 0 the first choice, NO_PICK
        after the last pick. district: int (n,). traits: name -> int (n,) level index, NO_PICK
        where unknown (e.g. {"age_band": ..., "sex": ...}), used for raking.
        weights: optional respondent weights (n,), used when no raking targets are given.
    """

    picks: np.ndarray
    district: np.ndarray
    n_issues: int
    n_districts: int
    traits: dict[str, np.ndarray] = msgspec.field(default_factory=dict)
    weights: np.ndarray | None = None

    @property
    def max_picks(self) -> int:
        """How many picks a resident could make (N)."""
        return int(self.picks.shape[1])

    def __len__(self) -> int:
        return int(self.picks.shape[0])

    def check(self) -> Responses:
        """Raise ValueError unless the rows follow the documented shape; return self."""
        check_picks(self.picks, self.n_issues)
        n = len(self)
        if self.district.shape != (n,):
            raise ValueError("district must have one entry per respondent")
        if n and (self.district.min() < 0 or self.district.max() >= self.n_districts):
            raise ValueError("district index out of range")
        for name, values in self.traits.items():
            if values.shape != (n,):
                raise ValueError(f"trait {name!r} must have one entry per respondent")
        if self.weights is not None and (self.weights.shape != (n,) or (self.weights <= 0).any()):
            raise ValueError("weights must be positive, one per respondent")
        return self

    def subset(self, rows: np.ndarray) -> Responses:
        """The same survey restricted to some respondents (an index or boolean mask)."""
        return Responses(
            picks=self.picks[rows],
            district=self.district[rows],
            n_issues=self.n_issues,
            n_districts=self.n_districts,
            traits={k: v[rows] for k, v in self.traits.items()},
            weights=None if self.weights is None else self.weights[rows],
        )


def check_picks(picks: np.ndarray, n_issues: int) -> None:
    """Raise ValueError unless picks are in range, contiguous from column 0 and unrepeated."""
    if picks.ndim != 2:
        raise ValueError("picks must be a 2-D array (respondents x max_picks)")
    if picks.size == 0:
        return
    if picks.min() < NO_PICK or picks.max() >= n_issues:
        raise ValueError("pick index out of range")
    empty = picks == NO_PICK
    # once a slot is empty every later slot must be empty too
    if (empty[:, :-1] & ~empty[:, 1:]).any():
        raise ValueError("picks must be contiguous from the first column")
    ordered = np.sort(np.where(empty, -1 - np.arange(picks.shape[1]), picks), axis=1)
    if (np.diff(ordered, axis=1) == 0).any():
        raise ValueError("an issue is picked twice in one row")


def borda_points(picks: np.ndarray, n_issues: int, dtype: type = np.float64) -> np.ndarray:
    """Borda points per respondent and issue: N for a first choice down to 1 for the Nth, else 0."""
    n, max_picks = picks.shape
    points = np.zeros((n, n_issues), dtype=dtype)
    rows, cols = np.nonzero(picks != NO_PICK)
    points[rows, picks[rows, cols]] = max_picks - cols
    return points


def pattern_keys(picks: np.ndarray, n_issues: int) -> np.ndarray:
    """One int64 per row that is equal exactly when two rows made the same ranked picks.

    Lets a million rows be compressed with np.unique into the few distinct answers they hold.
    """
    base = n_issues + 1
    if base ** picks.shape[1] >= 2**63:
        raise ValueError("too many issues x picks to encode a row in 64 bits")
    keys = np.zeros(picks.shape[0], dtype=np.int64)
    for col in range(picks.shape[1] - 1, -1, -1):
        keys = keys * base + (picks[:, col].astype(np.int64) + 1)
    return keys


class PickStats(msgspec.Struct):
    """Sufficient statistics of the picks, per district (D) and weighting cell (C).

    n: int (D, C) respondents. counts: int (D, C, I, P), respondents who put issue i at
    position p. point_sum: (D, C, I) sum of Borda points. point_cross: (D, C, I, I) sum over
    respondents of points_i * points_j. cell_levels: int (C, M), each cell's level per margin
    (NO_PICK for unknown); margins names the M traits. With no weighting, C = 1 and M = 0.
    """

    n: np.ndarray
    counts: np.ndarray
    point_sum: np.ndarray
    point_cross: np.ndarray
    max_picks: int
    cell_levels: np.ndarray
    margins: list[str] = msgspec.field(default_factory=list)

    @classmethod
    def from_district_arrays(
        cls,
        n: np.ndarray,
        counts: np.ndarray,
        point_sum: np.ndarray,
        point_cross: np.ndarray,
        max_picks: int,
    ) -> PickStats:
        """Statistics kept per district only (no weighting cells), as (D,), (D,I,P), (D,I), (D,I,I)."""
        return cls(
            n=np.asarray(n)[:, None],
            counts=np.asarray(counts)[:, None],
            point_sum=np.asarray(point_sum)[:, None],
            point_cross=np.asarray(point_cross)[:, None],
            max_picks=int(max_picks),
            cell_levels=np.zeros((1, 0), dtype=np.int64),
        )

    @property
    def n_districts(self) -> int:
        """Number of districts (D)."""
        return int(self.n.shape[0])

    @property
    def n_issues(self) -> int:
        """Number of issues (I)."""
        return int(self.counts.shape[2])

    def check(self) -> PickStats:
        """Raise ValueError if the arrays disagree with each other; return self."""
        d, c = self.n.shape
        i, p = self.counts.shape[2:]
        if self.counts.shape != (d, c, i, p) or p != self.max_picks:
            raise ValueError("counts must be (districts, cells, issues, max_picks)")
        if self.point_sum.shape != (d, c, i) or self.point_cross.shape != (d, c, i, i):
            raise ValueError("point_sum / point_cross shapes do not match counts")
        if self.cell_levels.shape[0] != c or self.cell_levels.shape[1] != len(self.margins):
            raise ValueError("cell_levels must be (cells, margins)")
        # point sums and the cross-product diagonal are implied by the count cube
        values = np.arange(p, 0, -1)
        if not np.allclose(self.counts @ values, self.point_sum):
            raise ValueError("point_sum disagrees with counts")
        diag = np.diagonal(self.point_cross, axis1=2, axis2=3)
        if not np.allclose(self.counts @ values**2, diag):
            raise ValueError("point_cross diagonal disagrees with counts")
        if (self.counts.sum(axis=2) > self.n[..., None]).any():
            raise ValueError("more picks at a position than respondents")
        return self

    def by_district(self) -> PickStats:
        """The same statistics with the weighting cells summed away (C = 1)."""
        return PickStats.from_district_arrays(
            self.n.sum(axis=1),
            self.counts.sum(axis=1),
            self.point_sum.sum(axis=1),
            self.point_cross.sum(axis=1),
            self.max_picks,
        )


def cell_index(traits: dict[str, np.ndarray], margins: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each respondent's weighting cell, and each cell's levels: (cell (n,), cell_levels (C, M))."""
    if not margins:
        return np.zeros(n, dtype=np.int64), np.zeros((1, 0), dtype=np.int64)
    levels = np.stack([np.asarray(traits[m], dtype=np.int64) for m in margins], axis=1)
    cell_levels, cell = np.unique(levels, axis=0, return_inverse=True)
    return cell.reshape(-1), cell_levels


def pick_stats(responses: Responses, margins: list[str] | None = None) -> PickStats:
    """Reference computation of the sufficient statistics from respondent rows.

    margins names the traits that define weighting cells (none: one cell per district). The web
    app's SQL or running totals must reproduce this exactly.
    """
    margins = list(margins or [])
    picks, n_issues, max_picks = responses.picks, responses.n_issues, responses.max_picks
    cell, cell_levels = cell_index(responses.traits, margins, len(responses))
    n_cells = cell_levels.shape[0]
    group = responses.district.astype(np.int64) * n_cells + cell
    n_groups = responses.n_districts * n_cells

    n = np.bincount(group, minlength=n_groups)
    rows, cols = np.nonzero(picks != NO_PICK)
    flat = (group[rows] * n_issues + picks[rows, cols]) * max_picks + cols
    counts = np.bincount(flat, minlength=n_groups * n_issues * max_picks)

    points = borda_points(picks, n_issues)
    point_sum = np.zeros((n_groups, n_issues))
    point_cross = np.zeros((n_groups, n_issues, n_issues))
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(n_groups + 1))
    for g in range(n_groups):
        y = points[order[bounds[g] : bounds[g + 1]]]
        point_sum[g] = y.sum(axis=0)
        point_cross[g] = y.T @ y

    shape = (responses.n_districts, n_cells)
    return PickStats(
        n=n.reshape(shape),
        counts=counts.reshape((*shape, n_issues, max_picks)),
        point_sum=np.rint(point_sum).astype(np.int64).reshape((*shape, n_issues)),
        point_cross=np.rint(point_cross).astype(np.int64).reshape((*shape, n_issues, n_issues)),
        max_picks=max_picks,
        cell_levels=cell_levels,
        margins=margins,
    )
