"""Opinion groups: planted resident types recovered, stable, described and assigned exactly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from analysis.data import borda_points
from analysis.opinion import ResidentGroups, assign
from analysis.synthetic import make_survey


@pytest.fixture(scope="module")
def typed():
    survey = make_survey(12000, n_groups=1, n_types=3, type_strength=50, seed=2, comment_rate=0)
    fit = ResidentGroups(sample_size=6000, random_state=0).fit(
        survey.responses.picks, 20, survey.responses.district, 14
    )
    return survey, fit


def test_planted_types_are_recovered(typed):
    survey, fit = typed
    assert fit.n_groups_ == 3
    assert adjusted_rand_score(survey.resident_type, fit.labels_) > 0.85
    assert fit.stability_ > 0.75 and fit.silhouette_ > 0.2
    assert fit.fitted_on_ == 6000 and fit.labels_.size == 12000


def test_groups_are_defined_by_their_planted_issues(typed):
    survey, fit = typed
    for g in range(3):
        planted = np.bincount(survey.resident_type[fit.labels_ == g]).argmax()
        boosted = {(i + 3 * planted + 10) % 20 for i in range(3)}
        assert {issue for issue, *_ in fit.defining_[g]} == boosted
        assert all(z > 0 and p < 0.05 for _, _, _, z, p in fit.defining_[g])


def test_district_shares_add_up(typed):
    survey, fit = typed
    counts = fit.district_counts_
    assert counts.sum() == 12000
    assert (counts.sum(axis=0) == np.bincount(survey.responses.district, minlength=14)).all()
    assert (counts.sum(axis=1) == fit.sizes_).all()
    assert list(fit.sizes_) == sorted(fit.sizes_, reverse=True)


def test_assignment_from_picks_is_nearest_centre():
    survey = make_survey(3000, n_types=2, seed=4, comment_rate=0)
    picks = survey.responses.picks
    centres = np.random.default_rng(0).random((4, 20)) * 3
    points = borda_points(picks, 20)
    nearest = ((points[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
    assert (assign(picks, centres, chunk=700) == nearest).all()


def test_same_seed_same_groups(typed):
    survey, fit = typed
    again = ResidentGroups(sample_size=6000, random_state=0).fit(survey.responses.picks, 20)
    assert (again.labels_ == fit.labels_).all()
