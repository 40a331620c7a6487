"""District groups by Ward + silhouette: planted groups found, none claimed in pure noise."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score, silhouette_score

from analysis.clusters import DistrictClusters, silhouette, ward_cuts
from analysis.data import pick_stats
from analysis.ranking import moments_from_stats
from analysis.synthetic import make_survey


def _profiles(survey):
    m = moments_from_stats(pick_stats(survey.responses))
    scale = 100 / m.max_picks
    return m.mean * scale, m.cov * scale**2


def test_fast_cuts_and_silhouette_equal_sklearn():
    x = np.random.default_rng(0).normal(size=(14, 20))
    cuts = ward_cuts(x, range(2, 7))
    distance = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    for k, labels in cuts.items():
        reference = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(x)
        assert adjusted_rand_score(reference, labels) == 1.0
        assert silhouette(distance, labels) == pytest.approx(silhouette_score(x, labels), abs=1e-12)


def test_planted_district_groups_are_recovered():
    survey = make_survey(4000, n_groups=3, group_strength=2.0, seed=3, comment_rate=0)
    score, noise = _profiles(survey)
    fit = DistrictClusters(random_state=0).fit(score, noise)
    assert fit.distinct_ and fit.n_groups_ == 3
    assert adjusted_rand_score(survey.district_group, fit.labels_) == 1.0
    assert fit.silhouette_ > fit.noise_silhouette_
    # each group is named by the issues it was planted with
    for g in range(3):
        planted = survey.district_group[fit.labels_ == g][0]
        assert set(fit.defining_[g]) == {(i + 3 * planted + 2) % 20 for i in range(3)}


def test_no_distinct_groups_without_structure():
    for seed in (1, 2, 3):
        survey = make_survey(4000, n_groups=1, seed=seed, comment_rate=0)
        score, noise = _profiles(survey)
        fit = DistrictClusters(random_state=0).fit(score, noise)
        assert not fit.distinct_ and fit.n_groups_ == 1
        assert (fit.labels_ == 0).all()


def test_silhouette_alone_would_be_fooled_by_noise():
    # seed 1's noise reaches a silhouette above 0.25: only the noise check says "no groups"
    survey = make_survey(4000, n_groups=1, seed=1, comment_rate=0)
    score, noise = _profiles(survey)
    assert DistrictClusters().fit(score).distinct_
    assert not DistrictClusters(random_state=0).fit(score, noise).distinct_


def test_too_few_districts():
    fit = DistrictClusters().fit(np.random.default_rng(0).random((2, 5)))
    assert not fit.distinct_ and np.isnan(fit.silhouette_)
