"""Recorded crime beside residents' concern: rates per 1,000 residents, and how the two rank together.

For each survey issue that has police.uk street-level crime types, every district's recorded
incidents over the months chosen are turned into a rate per 1,000 residents (Census 2021) and set
beside the district's priority score. Across the districts whose scores are published, Spearman's
rank correlation says whether districts that worry more about an issue also record more of it.
With 14 districts at most the correlation is imprecise, so it comes with a Fisher-z interval
(variance 1.06 / (n - 3), Fieller, Hartley and Pearson 1957) and a two-sided permutation p-value
(Monte Carlo, seeded, so a report repeats). Districts where concern ranks well above or below
the recorded rate (by ``gap_places`` ranks or more) are named.

Pure computation: numbers and names in, msgspec Structs out; nothing here reads a database.
"""

from __future__ import annotations

import math
from typing import Literal

import msgspec
import numpy as np

Verdict = Literal["concern ahead of recorded crime", "concern behind recorded crime", "in step"]
# The normal quantile for a 95% interval (alpha = 0.05); other alphas are computed from it below.
_Z_975 = 1.959963984540054


class IssueCrimeTypes(msgspec.Struct, frozen=True):
    """A survey issue and the police.uk crime types it is compared with (empty: none fits, and why)."""

    code: str
    label: str
    crime_types: list[str]
    note: str = ""


class DistrictRate(msgspec.Struct, frozen=True):
    """One district's recorded rate for one issue, beside its priority score and the two ranks."""

    code: str
    name: str
    incidents: int
    per_1000: float  # incidents over the months chosen per 1,000 residents (Census 2021)
    score: float | None  # priority score 0-100; None when suppressed or not asked there
    concern_rank: float | None  # 1 = most concern among the districts compared; ties share the mean rank
    crime_rank: float | None  # 1 = highest recorded rate among the same districts
    rank_difference: float | None  # crime_rank - concern_rank: positive when concern ranks higher
    verdict: Verdict | None


class RankCorrelation(msgspec.Struct, frozen=True):
    """Spearman's rho between concern and recorded rate across districts, with its uncertainty."""

    districts: int
    rho: float
    ci: tuple[float, float]  # Fisher-z interval
    p_value: float  # two-sided, by permutation
    permutations: int


class IssueCrime(msgspec.Struct, frozen=True):
    """One mapped issue: the county's rate, every district's, and how concern and crime rank together."""

    code: str
    label: str
    crime_types: list[str]
    incidents: int  # all 14 areas
    per_1000: float
    districts: list[DistrictRate]
    correlation: RankCorrelation | None  # None: fewer than 4 districts compared, or no spread to rank
    ahead: list[str]  # district codes where concern is well ahead of recorded crime
    behind: list[str]


class UnmappedIssue(msgspec.Struct, frozen=True):
    """An issue in the survey with no police.uk street-level crime type, and why."""

    code: str
    label: str
    reason: str


class RecordedCrime(msgspec.Struct, frozen=True):
    """The report's recorded-crime section (``issues`` empty when no crime data covers the months)."""

    months: list[str]  # the months used, YYYY-MM
    available_months: list[str]  # every month imported
    issues: list[IssueCrime]
    unmapped: list[UnmappedIssue]
    gap_places: int
    alpha: float
    permutations: int
    random_state: int | None
    notes: list[str]


def average_ranks(values: np.ndarray, *, descending: bool = False) -> np.ndarray:
    """Ranks from 1, ties sharing the mean of the ranks they span (as scipy.stats.rankdata's "average")."""
    x = -np.asarray(values, dtype=float) if descending else np.asarray(values, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=float)
    sorted_x = x[order]
    start = 0
    while start < len(x):
        end = start
        while end + 1 < len(x) and sorted_x[end + 1] == sorted_x[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of b with each row of a (a: (k, n), b: (n,))."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean()
    return (a @ b) / np.sqrt((a * a).sum(axis=-1) * (b @ b))


def spearman(
    x: np.ndarray, y: np.ndarray, *, permutations: int = 9_999, alpha: float = 0.05, random_state: int | None = 0
) -> RankCorrelation | None:
    """Spearman's rho with a Fisher-z interval and a permutation p-value; None below 4 pairs or with no spread."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    rx, ry = average_ranks(x), average_ranks(y)
    rho = float(_pearson_rows(rx[None, :], ry)[0])
    rho = min(1.0, max(-1.0, rho))
    z_crit = _normal_quantile(1 - alpha / 2)
    half = z_crit * math.sqrt(1.06 / (n - 3))
    z = math.atanh(min(max(rho, -0.999999), 0.999999))
    ci = (math.tanh(z - half), math.tanh(z + half))
    rng = np.random.default_rng(random_state)
    shuffled = rng.permuted(np.broadcast_to(rx, (permutations, n)), axis=1)
    null = _pearson_rows(shuffled, ry)
    # The observed arrangement counts as one of the permutations (Phipson and Smyth 2010): p is never 0.
    extreme = int(np.count_nonzero(np.abs(null) >= abs(rho) - 1e-12))
    return RankCorrelation(n, rho, ci, (extreme + 1) / (permutations + 1), permutations)


def _normal_quantile(p: float) -> float:
    """The standard normal quantile, by bisection on erf (exact enough for an interval, no extra dependency)."""
    if abs(p - 0.975) < 1e-15:
        return _Z_975
    low, high = -10.0, 10.0
    for _ in range(100):
        mid = (low + high) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def compare_issue(
    issue: IssueCrimeTypes,
    district_codes: list[str],
    district_names: list[str],
    populations: list[int],
    incidents: dict[str, dict[str, int]],
    scores: dict[str, float | None],
    *,
    gap_places: int,
    permutations: int = 9_999,
    alpha: float = 0.05,
    random_state: int | None = 0,
) -> IssueCrime:
    """One issue: each district's rate beside its score, the rank correlation, and where the two part."""
    counts = [sum(incidents.get(code, {}).get(t, 0) for t in issue.crime_types) for code in district_codes]
    rates = [1000 * c / p for c, p in zip(counts, populations, strict=True)]
    compared = [i for i, code in enumerate(district_codes) if scores.get(code) is not None]
    concern = np.array([scores[district_codes[i]] for i in compared], dtype=float)
    recorded = np.array([rates[i] for i in compared], dtype=float)
    concern_rank = dict(zip(compared, average_ranks(concern, descending=True), strict=True)) if compared else {}
    crime_rank = dict(zip(compared, average_ranks(recorded, descending=True), strict=True)) if compared else {}
    rows: list[DistrictRate] = []
    ahead: list[str] = []
    behind: list[str] = []
    for i, code in enumerate(district_codes):
        difference = verdict = None
        if i in concern_rank:
            difference = float(crime_rank[i] - concern_rank[i])
            verdict = _verdict(difference, gap_places)
            if verdict == "concern ahead of recorded crime":
                ahead.append(code)
            elif verdict == "concern behind recorded crime":
                behind.append(code)
        rows.append(
            DistrictRate(
                code=code,
                name=district_names[i],
                incidents=counts[i],
                per_1000=rates[i],
                score=scores.get(code),
                concern_rank=None if i not in concern_rank else float(concern_rank[i]),
                crime_rank=None if i not in crime_rank else float(crime_rank[i]),
                rank_difference=difference,
                verdict=verdict,
            )
        )
    correlation = spearman(concern, recorded, permutations=permutations, alpha=alpha, random_state=random_state)
    total = sum(counts)
    return IssueCrime(
        code=issue.code,
        label=issue.label,
        crime_types=list(issue.crime_types),
        incidents=total,
        per_1000=1000 * total / sum(populations) if sum(populations) else 0.0,
        districts=rows,
        correlation=correlation,
        ahead=ahead,
        behind=behind,
    )


def _verdict(difference: float, gap_places: int) -> Verdict:
    if difference >= gap_places:
        return "concern ahead of recorded crime"
    if difference <= -gap_places:
        return "concern behind recorded crime"
    return "in step"


def default_gap_places(districts: int) -> int:
    """How many ranks apart counts as "well" apart: a third of the districts, at least 2 (5 of 14)."""
    return max(2, math.ceil(districts / 3))


def recorded_crime(
    issues: list[IssueCrimeTypes],
    district_codes: list[str],
    district_names: list[str],
    populations: list[int],
    incidents: dict[str, dict[str, int]],
    scores: dict[str, dict[str, float | None]],
    *,
    months: list[str],
    available_months: list[str],
    permutations: int = 9_999,
    alpha: float = 0.05,
    random_state: int | None = 0,
    gap_places: int | None = None,
) -> RecordedCrime:
    """The section for every issue in the survey: mapped issues compared, the others named with why.

    incidents: district code -> police.uk crime type -> incidents over `months`.
    scores: issue code -> district code -> priority score (None or absent when not published).
    """
    # "Well apart" is judged among the districts whose concern is published (a third of them).
    published = {code for by_district in scores.values() for code, score in by_district.items() if score is not None}
    gap = gap_places if gap_places is not None else default_gap_places(len(published) or len(district_codes))
    notes = [
        f"Rates are incidents recorded by police.uk over {len(months)} month(s) ({_span(months)}) per 1,000 usual"
        " residents (Census 2021), placed in districts by the LSOA each record falls in.",
        f"Rank correlations compare at most {len(published) or len(district_codes)} districts: that is few, so a"
        " correlation can look"
        " strong by chance. Read the interval and the p-value, not the correlation alone.",
        f"Concern is 'well ahead' of recorded crime where a district ranks {gap} or more places higher on the"
        " priority score than on the recorded rate, and 'well behind' where it ranks that much lower.",
        "Recorded crime is what was reported to and recorded by the police: it is not all crime, and some issues"
        " (anti-social behaviour most of all) are under-reported to different degrees in different places.",
    ]
    if not months:
        notes = ["No police.uk crime data is imported for these months, so there is nothing to compare concern with."]
    compared: list[IssueCrime] = []
    unmapped: list[UnmappedIssue] = []
    for issue in issues:
        if not issue.crime_types:
            reason = issue.note or "No police.uk street-level crime type matches this issue."
            unmapped.append(UnmappedIssue(issue.code, issue.label, reason))
            continue
        if months:
            compared.append(
                compare_issue(
                    issue,
                    district_codes,
                    district_names,
                    populations,
                    incidents,
                    scores.get(issue.code, {}),
                    gap_places=gap,
                    permutations=permutations,
                    alpha=alpha,
                    random_state=random_state,
                )
            )
    return RecordedCrime(
        months=list(months),
        available_months=list(available_months),
        issues=compared,
        unmapped=unmapped,
        gap_places=gap,
        alpha=alpha,
        permutations=permutations,
        random_state=random_state,
        notes=notes,
    )


def _span(months: list[str]) -> str:
    if not months:
        return "none"
    return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"
