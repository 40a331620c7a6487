"""Raking against independent implementations: a plain-Python IPF one respondent at a time, the
minimum-divergence calibration solved by Newton's method on its dual (a different algorithm
reaching the same weights), and the post-stratification closed form."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from analysis.report import build_report
from analysis.synthetic import make_survey
from analysis.weighting import Raker, kish


def _python_rake(district, levels, targets, sweeps=300, tol=None):
    """Textbook IPF, one respondent at a time; unknown (-1) respondents sit out a margin.

    tol: stop once a sweep changes no weight by more than this (else run every sweep).
    """
    n = len(district)
    w = [1.0] * n
    for _ in range(sweeps):
        before = list(w)
        for m, goal in targets.items():
            for d in set(district):
                known = [r for r in range(n) if district[r] == d and levels[m][r] >= 0]
                total = sum(w[r] for r in known)
                current = {}
                for r in known:
                    current[levels[m][r]] = current.get(levels[m][r], 0.0) + w[r]
                for r in known:
                    w[r] *= goal[d][levels[m][r]] * total / current[levels[m][r]]
        if tol is not None and max(abs(a - b) for a, b in zip(w, before, strict=True)) < tol:
            break
    return np.array(w)


def _newton_calibration(n, age_goal, sex_goal, steps=100):
    """Raking as calibration (Deville and Sarndal 1992): weights w[a, s] = exp(lambda_a + mu_s) that
    meet both margins with the least divergence from 1, by Newton's method on the convex dual
    sum n w - N (t . lambda + u . mu). No IPF anywhere: an independent route to the same weights."""
    n = np.asarray(n, float)
    ages, sexes = n.shape
    total = n.sum()
    theta = np.zeros(ages + sexes)
    for _ in range(steps):
        w = np.exp(theta[:ages, None] + theta[None, ages:])
        nw = n * w
        gradient = np.r_[nw.sum(axis=1) - total * age_goal, nw.sum(axis=0) - total * sex_goal]
        if np.abs(gradient).max() < 1e-13 * total:
            break
        hessian = np.zeros((ages + sexes, ages + sexes))
        hessian[:ages, :ages] = np.diag(nw.sum(axis=1))
        hessian[ages:, ages:] = np.diag(nw.sum(axis=0))
        hessian[:ages, ages:] = nw
        hessian[ages:, :ages] = nw.T
        # one direction (lambda + c, mu - c) leaves every weight alone: the pseudo-inverse ignores it
        theta -= np.linalg.pinv(hessian) @ gradient
    return np.exp(theta[:ages, None] + theta[None, ages:])


# Census 2021 residents 16+ of Blackburn with Darwen and Blackpool by the survey's seven age bands
# (16-24 ... 75 and over) and by sex (female, male): ONS TS009, as in talking/reference/age_sex.csv.
CENSUS_AGE = np.array(
    [[18031, 20706, 20814, 20189, 17364, 12881, 9519], [13267, 18065, 16245, 19157, 20411, 15541, 13643]], float
)
CENSUS_SEX = np.array([[60588, 58916], [59371, 56958]], float)


def _census_sample(n=700, seed=5):
    """Respondents skewed old and female, as surveys are, with some age bands and sexes not given."""
    rng = np.random.default_rng(seed)
    district = rng.integers(0, 2, n)
    age = rng.choice([0, 1, 2, 3, 4, 5, 6, -1], size=n, p=[0.04, 0.08, 0.12, 0.16, 0.2, 0.2, 0.12, 0.08])
    sex = rng.choice([0, 1, -1], size=n, p=[0.58, 0.37, 0.05])
    targets = {
        "age band": CENSUS_AGE / CENSUS_AGE.sum(axis=1, keepdims=True),
        "sex": CENSUS_SEX / CENSUS_SEX.sum(axis=1, keepdims=True),
    }
    return district, {"age band": age, "sex": sex}, targets


def test_seven_age_bands_and_sex_match_plain_python_ipf_to_1e_9():
    """Census 2021 margins, unknowns on either margin or both: the same weights as the textbook loop."""
    district, traits, targets = _census_sample()
    raker = Raker(cap=None, tol=1e-13, max_iter=5000).fit(traits, district, targets, 2)
    expected = _python_rake(
        district.tolist(), {k: v.tolist() for k, v in traits.items()}, targets, sweeps=5000, tol=1e-13
    )
    assert raker.converged_.all()
    np.testing.assert_allclose(raker.weights_, expected, rtol=0, atol=1e-9)
    neither = (traits["age band"] < 0) & (traits["sex"] < 0)
    assert neither.any()
    np.testing.assert_allclose(raker.weights_[neither], 1.0, atol=1e-12)  # gave neither: weight 1
    for d in range(2):
        for m, goal in targets.items():
            known = (district == d) & (traits[m] >= 0)
            shares = np.bincount(traits[m][known], weights=raker.weights_[known]) / raker.weights_[known].sum()
            np.testing.assert_allclose(shares, goal[d], rtol=0, atol=1e-9)


def test_seven_age_bands_and_sex_match_the_calibration_solved_by_newton_to_1e_9():
    """Everyone gave both: raking is the minimum-divergence calibration, found here without IPF."""
    district, traits, targets = _census_sample(seed=6)
    known = (traits["age band"] >= 0) & (traits["sex"] >= 0)
    district = district[known]
    traits = {k: v[known] for k, v in traits.items()}
    raker = Raker(cap=None, tol=1e-13, max_iter=5000).fit(traits, district, targets, 2)
    for d in range(2):
        here = district == d
        n = np.zeros((7, 2))
        np.add.at(n, (traits["age band"][here], traits["sex"][here]), 1)
        cell_w = _newton_calibration(n, targets["age band"][d], targets["sex"][d])
        expected = cell_w[traits["age band"][here], traits["sex"][here]]
        np.testing.assert_allclose(raker.weights_[here], expected, rtol=0, atol=1e-9)
        deff, eff_n = kish(expected)
        assert raker.design_effect_[d] == pytest.approx(deff, abs=1e-9)
        assert raker.effective_n_[d] == pytest.approx(eff_n, abs=1e-6)


def test_the_cap_holds_on_seven_bands_and_sex():
    """A band with very few respondents would need a large weight: the cap cuts it, and says so."""
    district, traits, targets = _census_sample(seed=7)
    young = np.flatnonzero(traits["age band"] == 0)
    traits["age band"][young[3:]] = 4  # only three 16-24s left in all
    raker = Raker(cap=5.0).fit(traits, district, targets, 2)
    for d in range(2):
        w = raker.weights_[district == d]
        assert w.max() <= 5.0 * w.mean() * (1 + 1e-9)
        assert w.mean() == pytest.approx(1.0)
        assert raker.design_effect_[d] > 1 and raker.effective_n_[d] < w.size
    assert raker.margin_error_.max() > 0.01  # the 16-24 share cannot be met under the cap


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


def test_the_report_counts_who_sat_out_each_margin():
    """Unknown age band or sex, counted in the published districts only, in the method and its notes."""
    survey = make_survey(n_issues=6, n_districts=3, district_sizes=[300, 200, 6], seed=8)
    r = survey.responses
    age, sex = r.traits["age_band"].copy(), r.traits["sex"].copy()
    age[::7], sex[::11] = -1, -1
    rows = msgspec.structs.replace(r, traits={"age_band": age, "sex": sex})
    report = build_report(
        survey.issue_codes,
        survey.issue_labels,
        survey.district_codes,
        survey.district_names,
        responses=rows,
        population=survey.population,
        margin_targets={"age_band": survey.age_targets, "sex": survey.sex_targets},
    )
    published = r.district != 2  # the 6 are suppressed, and left out of every figure
    assert report.method.unknown_traits == {
        "age_band": int((published & (age < 0)).sum()),
        "sex": int((published & (sex < 0)).sum()),
    }
    assert report.method.unknown_on_every_margin == int((published & (age < 0) & (sex < 0)).sum()) > 0
    assert any(f"{report.method.unknown_on_every_margin} gave none of them" in n for n in report.method.notes)
