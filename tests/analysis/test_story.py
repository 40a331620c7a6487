"""Tiers of issues from their rank ranges: who is clearly ahead, and who is too close to separate."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.story import tiers


@dataclass(frozen=True)
class Issue:
    code: str
    rank: int
    rank_range: tuple[int, int]


def codes(found: list[list[Issue]]) -> list[list[str]]:
    return [[issue.code for issue in tier] for tier in found]


def test_a_clear_leader_is_a_tier_of_its_own() -> None:
    issues = [Issue("b", 2, (2, 3)), Issue("a", 1, (1, 1)), Issue("c", 3, (2, 3))]
    assert codes(tiers(issues)) == [["a"], ["b", "c"]]


def test_overlapping_ranges_are_one_tier_even_through_a_chain() -> None:
    # a overlaps b, b overlaps c: none of the three can be told apart from its neighbour.
    issues = [Issue("a", 1, (1, 2)), Issue("b", 2, (1, 3)), Issue("c", 3, (3, 4)), Issue("d", 4, (5, 5))]
    assert codes(tiers(issues)) == [["a", "b", "c"], ["d"]]


def test_every_issue_separated() -> None:
    issues = [Issue(c, r, (r, r)) for c, r in (("a", 1), ("b", 2), ("c", 3))]
    assert codes(tiers(issues)) == [["a"], ["b"], ["c"]]


def test_nothing_to_tell() -> None:
    assert tiers([]) == []
