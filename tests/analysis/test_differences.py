"""Districts against the county, and wave against wave."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from analysis.data import Responses
from analysis.differences import compare_waves, versus_county
from analysis.report import ReportSettings, build_report
from analysis.schemas import Report
from analysis.synthetic import make_survey, sample_top_n


def test_versus_county_variance_is_the_exact_linear_combination():
    rng = np.random.default_rng(0)
    values, variances = rng.random((5, 4)), rng.random((5, 4)) / 100
    shares = rng.dirichlet(np.ones(5))
    out = versus_county(values, variances, shares)
    for d in range(5):
        a = -shares.copy()
        a[d] += 1  # district minus county, the county including the district
        assert np.allclose(out["difference"][d], a @ values)
        assert np.allclose(out["z"][d], (a @ values) / np.sqrt((a**2) @ variances))


def test_planted_district_profiles_over_index(planted, planted_report):
    extras = 0
    for d, district in enumerate(planted_report.districts):
        group = planted.district_group[d]
        boosted = {f"issue-{(i + 3 * group + 2) % 20:02d}" for i in range(3)}
        over = {i.code for i in district.issues if i.versus_county.verdict == "over"}
        under = {i.code for i in district.issues if i.versus_county.verdict == "under"}
        assert boosted <= over and not boosted & under
        extras += len(over - boosted)
        # the weighted table is compared with the population-weighted county
        w_over = {i.code for i in district.weighted_issues if i.versus_county.verdict == "over"}
        assert boosted <= w_over
    assert extras <= 2


def test_no_differences_claimed_without_structure():
    survey = make_survey(6000, n_groups=1, seed=11, comment_rate=0)
    report = build_report(
        survey.issue_codes,
        survey.issue_labels,
        survey.district_codes,
        survey.district_names,
        responses=survey.responses,
        population=survey.population,
        settings=ReportSettings(opinion_sample=1000),
    )
    verdicts = [i.versus_county.verdict for d in report.districts for i in d.issues]
    assert sum(v != "as county" for v in verdicts) <= 1


def _wave(worths, codes, seed, previous=None, n=4000):
    rng = np.random.default_rng(seed)
    district = np.repeat(np.arange(2), n // 2)
    picks = sample_top_n(np.tile(worths, (n, 1)), 5, rng)
    r = Responses(picks, district, len(codes), 2)
    return build_report(
        codes,
        [c.title() for c in codes],
        ["E1", "E2"],
        ["East", "West"],
        responses=r,
        previous=previous,
        settings=ReportSettings(opinion_sample=1000, random_state=seed),
    )


def test_wave_on_wave_changes_on_shared_codes():
    base = np.exp(np.linspace(1, -1, 12))
    before_codes = [f"c{i}" for i in range(12)]
    before = _wave(base, before_codes, seed=1)
    stored = msgspec.json.decode(msgspec.json.encode(before), type=Report)  # as kept by the app
    # next wave: c3 matters much more, c7 much less, c11 dropped and "new" added
    after_worths = np.r_[base[:11], 1.0]
    after_worths[3] *= 3
    after_worths[7] /= 3
    after = _wave(after_worths, [*before_codes[:11], "new"], seed=2, previous=stored)
    waves = after.waves
    assert waves.shared == before_codes[:11]
    assert waves.added == ["new"] and waves.dropped == ["c11"]
    assert [a.area for a in waves.areas] == ["county", "E1", "E2"]
    for area in waves.areas:
        verdict = {c.code: c.verdict for c in area.changes}
        assert set(verdict) == set(before_codes[:11])
        assert verdict["c3"] == "rose" and verdict["c7"] == "fell"
        change = {c.code: c for c in area.changes}["c3"]
        assert change.change == pytest.approx(change.current - change.previous)


def test_compare_waves_arithmetic():
    out = compare_waves(
        ["a", "b", "c"],
        np.array([50.0, 20, 10]),
        np.array([1.0, 1, 1]),
        ["c", "a"],
        np.array([10.0, 40]),
        np.array([1.0, 1]),
    )
    assert out["codes"] == ["a", "c"]
    assert np.allclose(out["change"], [10, 0])
    assert out["z"][0] == pytest.approx(10 / np.sqrt(2))
    assert list(out["verdict"]) == [1, 0]
