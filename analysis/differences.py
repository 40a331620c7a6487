"""Differences that matter: districts against the county, and this wave against the last.

District against county: the county figure includes the district itself, so the difference
d - sum_k s_k x_k = (1 - s_d) x_d - sum_{k != d} s_k x_k is tested with its exact variance
(1 - s_d)^2 V_d + sum_{k != d} s_k^2 V_k, districts being independent samples. Variances come
from the (weighted) covariance of the estimates, or p(1 - p) / effective n for shares, so the
design effect of weighting is carried through. p-values are adjusted across a district's issues
(Holm by default, or Benjamini-Hochberg).

Waves: two independent samples, compared on the issue codes both waves asked about, using the
0-100 priority score (which puts lists of different length on one scale). With different issue
lists the choice context differs too, so a shared issue's change partly reflects the list.
"""

from __future__ import annotations

import numpy as np

from analysis.inference import adjust, two_sided_p


def versus_county(
    values: np.ndarray,
    variances: np.ndarray,
    shares: np.ndarray,
    alpha: float = 0.05,
    method: str = "holm",
) -> dict[str, np.ndarray]:
    """Each district's difference from the share-weighted county, per issue, with adjusted tests.

    values, variances: (D, I); shares: (D,) summing to 1 (zero for districts left out).
    Returns arrays (D, I): difference, z, p, p_adjusted, and verdict (+1 over, -1 under, 0).
    """
    values, variances = np.asarray(values, float), np.asarray(variances, float)
    shares = np.asarray(shares, float)
    county = shares @ values
    county_var = (shares**2) @ variances
    diff = values - county
    # the district's own share of the county variance is replaced by the (1 - s_d)^2 term
    own = shares[:, None]
    var = (1 - own) ** 2 * variances + county_var - own**2 * variances
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, diff / np.sqrt(var), np.nan)
    z[shares == 0] = np.nan
    p = two_sided_p(z)
    p_adj = np.vstack([adjust(row, method) for row in p]) if p.size else p
    verdict = np.where(p_adj < alpha, np.sign(diff), 0).astype(np.int64)
    return {"difference": diff, "z": z, "p": p, "p_adjusted": p_adj, "verdict": verdict}


def compare_waves(
    codes: list[str],
    score: np.ndarray,
    se: np.ndarray,
    previous_codes: list[str],
    previous_score: np.ndarray,
    previous_se: np.ndarray,
    alpha: float = 0.05,
    method: str = "bh",
) -> dict[str, np.ndarray | list[str]]:
    """Change in score per shared issue code between independent waves, with adjusted tests.

    Returns codes (shared, in this wave's order), previous, current, change, z, p, p_adjusted
    and verdict (+1 rose, -1 fell, 0 no change beyond noise).
    """
    where_before = {c: i for i, c in enumerate(previous_codes)}
    shared = [c for c in codes if c in where_before]
    now = np.array([codes.index(c) for c in shared], dtype=np.int64)
    then = np.array([where_before[c] for c in shared], dtype=np.int64)
    current, before = np.asarray(score, float)[now], np.asarray(previous_score, float)[then]
    var = np.asarray(se, float)[now] ** 2 + np.asarray(previous_se, float)[then] ** 2
    change = current - before
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, change / np.sqrt(var), np.nan)
    p = two_sided_p(z)
    p_adj = adjust(p, method)
    verdict = np.where(p_adj < alpha, np.sign(change), 0).astype(np.int64)
    return {
        "codes": shared,
        "previous": before,
        "current": current,
        "change": change,
        "z": z,
        "p": p,
        "p_adjusted": p_adj,
        "verdict": verdict,
    }
