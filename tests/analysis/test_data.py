"""Respondent rows, Borda points and the sufficient statistics against independent tallies."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from analysis.data import Responses, borda_points, check_picks, pattern_keys, pick_stats


def test_borda_points_by_hand():
    picks = np.array([[2, 0, 1], [1, -1, -1], [0, 2, -1]])
    expected = np.array([[2, 1, 3], [0, 3, 0], [3, 0, 2]])
    assert (borda_points(picks, 3) == expected).all()


@pytest.mark.parametrize(
    "bad",
    [
        [[0, -1, 1]],  # gap
        [[0, 0, 1]],  # repeat
        [[0, 1, 5]],  # out of range
        [[-2, -1, -1]],
    ],
)
def test_check_picks_rejects(bad):
    with pytest.raises(ValueError):
        check_picks(np.array(bad), 4)


def test_check_picks_accepts_short_and_empty_rows():
    check_picks(np.array([[3, 1, -1], [-1, -1, -1], [0, 1, 2]]), 4)


def test_pattern_keys_equal_exactly_for_equal_rows(small):
    picks = small.responses.picks
    keys = pattern_keys(picks, 8)
    as_tuples = [tuple(r) for r in picks]
    by_key = {}
    for k, t in zip(keys, as_tuples, strict=True):
        assert by_key.setdefault(k, t) == t
    assert len(set(keys)) == len(set(as_tuples))


def test_pick_stats_match_a_plain_tally(small):
    r = small.responses
    stats = pick_stats(r, ["age_band"]).check()
    levels = [tuple(x) for x in stats.cell_levels]
    n_issues, top = r.n_issues, r.max_picks
    counts, n = Counter(), Counter()
    sums, cross = Counter(), Counter()
    for row, d, age in zip(r.picks.tolist(), r.district.tolist(), r.traits["age_band"].tolist(), strict=True):
        c = levels.index((age,))
        n[d, c] += 1
        points = [0] * n_issues
        for pos, issue in enumerate(row):
            if issue >= 0:
                counts[d, c, issue, pos] += 1
                points[issue] = top - pos
        for i in range(n_issues):
            sums[d, c, i] += points[i]
            for j in range(n_issues):
                cross[d, c, i, j] += points[i] * points[j]
    for (d, c), v in n.items():
        assert stats.n[d, c] == v
    assert stats.n.sum() == len(r)
    assert all(stats.counts[k] == v for k, v in counts.items())
    assert stats.counts.sum() == sum(counts.values())
    assert all(stats.point_sum[k] == v for k, v in sums.items())
    assert all(stats.point_cross[k] == v for k, v in cross.items())
    assert stats.point_cross.sum() == sum(cross.values())


def test_stats_by_district_sum_the_cells(small):
    with_cells = pick_stats(small.responses, ["age_band", "sex"])
    plain = pick_stats(small.responses)
    merged = with_cells.by_district()
    for name in ("n", "counts", "point_sum", "point_cross"):
        assert (getattr(merged, name) == getattr(plain, name)).all()


def test_stats_check_catches_inconsistent_sums(small):
    stats = pick_stats(small.responses)
    stats.point_sum[0, 0, 0] += 1
    with pytest.raises(ValueError):
        stats.check()


def test_responses_check_and_subset(small):
    r = small.responses.check()
    half = r.subset(np.arange(len(r)) % 2 == 0)
    assert len(half) == (len(r) + 1) // 2
    assert half.traits["age_band"].shape == (len(half),)
    with pytest.raises(ValueError):
        Responses(r.picks, r.district[:-1], r.n_issues, r.n_districts).check()


def test_synthetic_answers_in_codes(small):
    answers = small.answers()
    assert len(answers) == 400
    first = answers[0]
    r = small.responses
    assert first.district == small.district_codes[r.district[0]]
    assert first.picks == [small.issue_codes[i] for i in r.picks[0] if i >= 0]
    assert all(1 <= len(a.picks) <= 3 for a in answers)
