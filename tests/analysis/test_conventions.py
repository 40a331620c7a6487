"""Estimators follow scikit-learn conventions; the package imports only what it may."""

from __future__ import annotations

import ast
import pathlib

import pytest
from sklearn.base import clone

import analysis
from analysis.clusters import DistrictClusters
from analysis.opinion import ResidentGroups
from analysis.plackett_luce import TopNPlackettLuce
from analysis.ranking import BordaRanker
from analysis.weighting import Raker


@pytest.mark.parametrize("cls", [BordaRanker, TopNPlackettLuce, Raker, DistrictClusters, ResidentGroups])
def test_estimators_clone_with_their_parameters(cls):
    est = cls()
    params = est.get_params()
    assert clone(est).get_params() == params
    assert not [k for k in vars(est) if k.endswith("_")]  # nothing learned before fit


def test_only_numpy_sklearn_msgspec_and_the_standard_library():
    allowed = {"numpy", "sklearn", "msgspec", "analysis", "__future__", "math", "statistics", "typing", "collections"}
    for path in pathlib.Path(analysis.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert {n.split(".")[0] for n in names} <= allowed, (path.name, names)
