"""Raking against an independent plain-Python IPF and the post-stratification closed form."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.weighting import Raker, kish


def _python_rake(district, levels, targets, sweeps=300):
    """Textbook IPF, one respondent at a time; unknown (-1) respondents sit out a margin."""
    n = len(district)
    w = [1.0] * n
    for _ in range(sweeps):
        for m, goal in targets.items():
            for d in set(district):
                known = [r for r in range(n) if district[r] == d and levels[m][r] >= 0]
                total = sum(w[r] for r in known)
                current = {}
                for r in known:
                    current[levels[m][r]] = current.get(levels[m][r], 0.0) + w[r]
                for r in known:
                    w[r] *= goal[d][levels[m][r]] * total / current[levels[m][r]]
    return np.array(w)


def _sample(n=600, seed=0):
    rng = np.random.default_rng(seed)
    district = rng.integers(0, 3, n)
    age = rng.choice([0, 1, 2, -1], size=n, p=[0.2, 0.3, 0.45, 0.05])
    sex = rng.choice([0, 1, -1], size=n, p=[0.6, 0.38, 0.02])
    targets = {
        "age_band": np.array([[0.4, 0.35, 0.25], [0.3, 0.4, 0.3], [0.5, 0.3, 0.2]]),
        "sex": np.array([[0.5, 0.5], [0.52, 0.48], [0.49, 0.51]]),
    }
    return district, {"age_band": age, "sex": sex}, targets


def test_matches_plain_python_ipf_on_two_margins():
    district, traits, targets = _sample()
    raker = Raker(cap=None, tol=1e-12, max_iter=1000).fit(traits, district, targets, 3)
    expected = _python_rake(district.tolist(), {k: v.tolist() for k, v in traits.items()}, targets)
    assert raker.converged_.all()
    assert np.allclose(raker.weights_, expected, rtol=1e-8)
    for d in range(3):
        w, here = raker.weights_, district == d
        assert w[here].mean() == pytest.approx(1.0)  # every step keeps the district total
        for m, goal in targets.items():
            known = here & (traits[m] >= 0)
            shares = np.bincount(traits[m][known], weights=w[known]) / w[known].sum()
            assert np.allclose(shares, goal[d], atol=1e-9)


def test_one_margin_is_post_stratification():
    district, traits, targets = _sample(seed=1)
    age = traits["age_band"]
    raker = Raker(cap=None).fit({"age_band": age}, district, {"age_band": targets["age_band"]}, 3)
    for d in range(3):
        here = district == d
        known = here & (age >= 0)
        for k in range(3):
            cell = known & (age == k)
            expected = targets["age_band"][d, k] * known.sum() / cell.sum()
            assert np.allclose(raker.weights_[cell], expected)
        assert np.allclose(raker.weights_[here & (age < 0)], 1.0)  # unknown age keeps weight 1


def test_cap_limits_weights_and_reports_the_miss():
    district = np.zeros(100, dtype=np.int64)
    age = np.r_[np.zeros(98, dtype=np.int64), np.ones(2, dtype=np.int64)]
    targets = {"age_band": np.array([[0.5, 0.5]])}
    raker = Raker(cap=5.0).fit({"age_band": age}, district, targets, 1)
    w = raker.weights_
    assert w.max() <= 5.0 * w.mean() * (1 + 1e-9)
    assert w.mean() == pytest.approx(1.0)
    assert raker.margin_error_[0] > 0.3  # 2 people cannot be half the district under a 5x cap
    uncapped = Raker(cap=None).fit({"age_band": age}, district, targets, 1)
    assert uncapped.weights_.max() == pytest.approx(25.0)


def test_design_effect_is_one_plus_cv_squared():
    district, traits, targets = _sample(seed=2)
    raker = Raker().fit(traits, district, targets, 3)
    for d in range(3):
        w = raker.weights_[district == d]
        cv2 = w.var() / w.mean() ** 2
        assert raker.design_effect_[d] == pytest.approx(1 + cv2)
        assert raker.effective_n_[d] == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert kish(np.ones(10)) == (1.0, 10.0)


def test_a_category_nobody_answered_is_dropped():
    district = np.zeros(50, dtype=np.int64)
    age = np.r_[np.zeros(30, dtype=np.int64), np.ones(20, dtype=np.int64)]  # nobody in band 2
    targets = {"age_band": np.array([[0.25, 0.25, 0.5]])}
    raker = Raker(cap=None).fit({"age_band": age}, district, targets, 1)
    w = raker.weights_
    assert w[:30].sum() == pytest.approx(w[30:].sum())
    assert raker.converged_.all()
