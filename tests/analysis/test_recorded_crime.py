"""Recorded crime beside concern: rates, ranks, Spearman's rho and its uncertainty against hand-worked
values, with scipy as an independent check (the package itself uses numpy only)."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from scipy import stats

from analysis.recorded_crime import (
    IssueCrimeTypes,
    RecordedCrime,
    average_ranks,
    compare_issue,
    default_gap_places,
    recorded_crime,
    spearman,
)

CODES = ["A", "B", "C", "D", "E"]
NAMES = ["Ayton", "Beeby", "Cowley", "Dunham", "Eston"]
POPULATION = [10_000, 20_000, 40_000, 5_000, 25_000]
BURGLARY = IssueCrimeTypes("burglary", "Burglary", ["Burglary"])
THEFT = IssueCrimeTypes("theft", "Theft", ["Other theft", "Bicycle theft"])
FRAUD = IssueCrimeTypes("fraud", "Fraud and scams", [], "Reported to Action Fraud")


def test_average_ranks_share_ties_like_scipy() -> None:
    values = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0])
    assert average_ranks(values).tolist() == stats.rankdata(values).tolist()
    assert average_ranks(values, descending=True).tolist() == stats.rankdata(-values).tolist()
    assert average_ranks(np.array([2.0, 2.0, 2.0])).tolist() == [2.0, 2.0, 2.0]


def test_rates_per_thousand_and_ranks_by_hand() -> None:
    # Burglary: 20 in 10,000 = 2.0; 10 in 20,000 = 0.5; 100 in 40,000 = 2.5; 1 in 5,000 = 0.2; 30 in 25,000 = 1.2
    incidents = {
        "A": {"Burglary": 20},
        "B": {"Burglary": 10},
        "C": {"Burglary": 100},
        "D": {"Burglary": 1},
        "E": {"Burglary": 30, "Drugs": 99},
    }
    scores = {"A": 10.0, "B": 50.0, "C": 40.0, "D": 5.0, "E": 20.0}
    result = compare_issue(BURGLARY, CODES, NAMES, POPULATION, incidents, scores, gap_places=2, permutations=999)
    assert [d.per_1000 for d in result.districts] == pytest.approx([2.0, 0.5, 2.5, 0.2, 1.2])
    assert result.incidents == 161 and result.per_1000 == pytest.approx(161 / 100)
    # Concern ranks (1 = highest score): B 1, C 2, E 3, A 4, D 5. Crime ranks: C 1, A 2, E 3, B 4, D 5.
    assert [d.concern_rank for d in result.districts] == [4, 1, 2, 5, 3]
    assert [d.crime_rank for d in result.districts] == [2, 4, 1, 5, 3]
    # crime rank - concern rank: A -2 (concern behind), B +3 (concern ahead), C -1, D 0, E 0.
    assert [d.rank_difference for d in result.districts] == [-2, 3, -1, 0, 0]
    assert result.ahead == ["B"] and result.behind == ["A"]
    assert [d.verdict for d in result.districts][2:] == ["in step"] * 3
    # rho = 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6 * (4 + 9 + 1) / 120 = 0.3
    assert result.correlation is not None
    assert result.correlation.rho == pytest.approx(0.3)
    assert result.correlation.rho == pytest.approx(stats.spearmanr(list(scores.values()), [2, 0.5, 2.5, 0.2, 1.2])[0])


def test_the_interval_is_fisher_z_with_fieller_variance() -> None:
    x = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], dtype=float)
    y = np.array([2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13], dtype=float)
    found = spearman(x, y, permutations=999)
    assert found is not None
    rho = stats.spearmanr(x, y)[0]
    half = 1.959963984540054 * math.sqrt(1.06 / 11)
    assert found.rho == pytest.approx(rho)
    assert found.ci == pytest.approx((math.tanh(math.atanh(rho) - half), math.tanh(math.atanh(rho) + half)))
    assert found.ci[0] < found.rho < found.ci[1]


def test_the_permutation_p_value_agrees_with_scipys_exact_test() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=7), rng.normal(size=7)
    y = y + 0.8 * x
    found = spearman(x, y, permutations=19_999, random_state=1)
    exact = stats.permutation_test(
        (x,), lambda a: stats.spearmanr(a, y)[0], permutation_type="pairings", n_resamples=np.inf
    ).pvalue
    assert found is not None and found.p_value == pytest.approx(exact, abs=0.01)


def test_the_p_value_repeats_with_the_seed_and_is_never_zero() -> None:
    x = np.arange(14, dtype=float)
    first = spearman(x, x, permutations=999, random_state=7)
    again = spearman(x, x, permutations=999, random_state=7)
    assert first == again
    assert first is not None and first.rho == 1.0 and first.p_value == pytest.approx(1 / 1000)


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]),  # three districts: too few for an interval
        ([5.0, 5.0, 5.0, 5.0], [1.0, 2.0, 3.0, 4.0]),  # every score the same: nothing to rank
        ([1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]),  # no crime anywhere
    ],
)
def test_no_correlation_without_enough_or_any_spread(x: list[float], y: list[float]) -> None:
    assert spearman(np.array(x), np.array(y)) is None


def test_suppressed_districts_keep_their_rate_but_are_not_compared() -> None:
    incidents = {code: {"Other theft": 10 * (i + 1), "Bicycle theft": 1} for i, code in enumerate(CODES)}
    scores = {"A": 30.0, "B": None, "C": 10.0, "D": 40.0, "E": 20.0}
    result = compare_issue(THEFT, CODES, NAMES, POPULATION, incidents, scores, gap_places=2, permutations=99)
    beeby = result.districts[1]
    assert beeby.incidents == 21 and beeby.per_1000 == pytest.approx(21 / 20)
    assert beeby.score is None and beeby.concern_rank is None and beeby.verdict is None
    assert result.correlation is not None and result.correlation.districts == 4


def test_the_section_names_unmapped_issues_and_says_when_there_is_no_crime() -> None:
    empty = recorded_crime(
        [BURGLARY, FRAUD], CODES, NAMES, POPULATION, {}, {}, months=[], available_months=[], permutations=99
    )
    assert empty.issues == [] and [u.code for u in empty.unmapped] == ["fraud"]
    assert empty.unmapped[0].reason == "Reported to Action Fraud"
    assert "No police.uk crime data" in empty.notes[0]
    scores = {"burglary": {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0, "E": 5.0}}
    full = recorded_crime(
        [BURGLARY, FRAUD],
        CODES,
        NAMES,
        POPULATION,
        {"A": {"Burglary": 1}},
        scores,
        months=["2022-10", "2022-11"],
        available_months=["2022-09", "2022-10", "2022-11"],
        permutations=99,
    )
    assert [i.code for i in full.issues] == ["burglary"] and full.gap_places == 2
    assert "over 2 month(s) (2022-10 to 2022-11)" in full.notes[0]
    assert "at most 5 districts: that is few" in full.notes[1]
    # The section is part of the report's JSON: it must go there and back unchanged.
    assert msgspec.json.decode(msgspec.json.encode(full), type=RecordedCrime) == full


def test_well_apart_is_a_third_of_the_districts() -> None:
    assert default_gap_places(14) == 5
    assert default_gap_places(5) == 2
    assert default_gap_places(2) == 2
