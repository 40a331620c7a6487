"""Which issues came top, and how clearly: the ranking read through its rank ranges.

Two issues are told apart only when their simultaneous rank ranges (analysis.ranking) do not
overlap: then the data say one is truly ahead of the other. Issues whose ranges overlap, directly or
through a chain of others, form one tier: "too close to separate". The public results' sentences
("Anti-social behaviour was the top concern, clearly ahead of the next issue") come from these tiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar


class Ranked(Protocol):
    """Anything with a rank and a rank range [best, worst] (analysis.schemas.IssueResult, or a copy)."""

    rank: int
    rank_range: tuple[int, int]


T = TypeVar("T", bound=Ranked)


def tiers(issues: Sequence[T]) -> list[list[T]]:
    """The issues in rank order, cut into tiers wherever no range of the tier reaches the next issue's range.

    An issue joins the tier above it when its best possible rank is within the worst possible rank
    of some issue already in that tier (their ranges overlap); otherwise it starts a new tier,
    clearly behind every issue above.
    """
    ordered = sorted(issues, key=lambda issue: (issue.rank, issue.rank_range))
    found: list[list[T]] = []
    reach = 0  # the worst rank any issue of the current tier might truly have
    for issue in ordered:
        best, worst = issue.rank_range
        if found and best <= reach:
            found[-1].append(issue)
            reach = max(reach, worst)
        else:
            found.append([issue])
            reach = worst
    return found
