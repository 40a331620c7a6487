"""Turning arrays of estimates into the report's issue tables."""

from __future__ import annotations

import numpy as np

from analysis.ranking import Estimates
from analysis.schemas import IssueResult, IssueTable, PlackettLuceCheck, Share, VersusCounty

_VERDICT = {1: "over", -1: "under", 0: "as county"}


def _share(numerator: float, denominator: float, kind: str) -> Share:
    """A Share: exact integers unweighted, sums of weights weighted, value only for a combination."""
    value = float(numerator / denominator) if denominator > 0 else 0.0
    if kind == "count":
        return Share(round(numerator), round(denominator), value)
    if kind == "weight":
        return Share(float(numerator), float(denominator), value)
    return Share(None, None, value)


def _finite(x: float) -> float | None:
    """A float for JSON, None instead of nan or infinity."""
    return float(x) if np.isfinite(x) else None


def issue_table(
    est: Estimates,
    row: int,
    codes: list[str],
    labels: list[str],
    share_kind: str,
    flag_base: int,
    versus: dict[str, np.ndarray] | None = None,
) -> IssueTable:
    """One area's issues (row `row` of the estimates), best first.

    share_kind: "count" (unweighted, exact), "weight" (weighted sums) or "combined" (value only).
    versus: output of differences.versus_county, shown against each issue when given.
    """
    m = est.moments
    top = m.max_picks
    scale = 100.0 / top
    issues = []
    for i, code in enumerate(codes):
        vs = None
        if versus is not None and np.isfinite(versus["z"][row, i]):
            vs = VersusCounty(
                difference=float(versus["difference"][row, i]),
                z=_finite(versus["z"][row, i]),
                p_adjusted=_finite(versus["p_adjusted"][row, i]),
                verdict=_VERDICT[int(versus["verdict"][row, i])],
            )
        issues.append(
            IssueResult(
                code=code,
                label=labels[i],
                rank=int(est.rank[row, i]),
                rank_range=(int(est.rank_low[row, i]), int(est.rank_high[row, i])),
                score=float(m.mean[row, i] * scale),
                score_se=float(est.se[row, i] * scale),
                score_ci=(float(est.ci_low[row, i] * scale), float(est.ci_high[row, i] * scale)),
                mean_points=float(m.mean[row, i]),
                first_choice_share=_share(m.first[row, i], m.denominator[row], share_kind),
                mention_share=_share(m.mention[row, i], m.denominator[row], share_kind),
                p_top3=float(np.nan_to_num(est.p_top[row, i])),
                versus_county=vs,
            )
        )
    order = sorted(range(len(codes)), key=lambda i: (issues[i].rank, -issues[i].mean_points, i))
    n = int(m.n[row])
    eff = float(m.effective_n[row])
    deff = n / eff if eff > 0 else 1.0
    return IssueTable(
        weighted=est.weighted,
        responses=n,
        effective_n=eff,
        design_effect=deff,
        flagged=bool(n < flag_base or eff < flag_base),
        issues=[issues[i] for i in order],
    )


def pl_check(
    worths: np.ndarray, ranks: np.ndarray, disagree: np.ndarray, codes: list[str], fitted_on: int
) -> PlackettLuceCheck:
    """The Plackett-Luce check for one area as a Struct."""
    return PlackettLuceCheck(
        worths={c: float(w) for c, w in zip(codes, worths, strict=True)},
        ranks={c: int(r) for c, r in zip(codes, ranks, strict=True)},
        disagree=[c for c, flag in zip(codes, disagree, strict=True) if flag],
        respondents=int(fitted_on),
    )
