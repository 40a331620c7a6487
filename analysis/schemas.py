"""The report, as msgspec Structs: what the web app shows, stores as JSON and reads back.

Everything here encodes with msgspec.json and decodes back into the same types, so a stored
report can be passed in as the previous wave of the next one. None means "not shown": a
suppressed cell, or a part whose inputs were not given.
"""

from __future__ import annotations

from typing import Literal

import msgspec


class Share(msgspec.Struct, frozen=True):
    """A share as a fraction: respondents (or weight) over base, and its value.

    Unweighted shares are exact integer fractions. Weighted ones carry sums of weights; a
    population-weighted county share has no single base, so numerator and denominator are None.
    """

    numerator: int | float | None
    denominator: int | float | None
    value: float


class VersusCounty(msgspec.Struct, frozen=True):
    """How an issue's score in a district differs from the county, beyond noise or not."""

    difference: float  # district score minus county score, 0-100 points
    z: float | None
    p_adjusted: float | None
    verdict: Literal["over", "under", "as county"]


class IssueResult(msgspec.Struct, frozen=True):
    """One issue's standing in one area: shares, score with interval, and rank with its range."""

    code: str
    label: str
    rank: int  # 1 = highest mean points; ties share the best rank
    rank_range: tuple[int, int]  # simultaneous confidence set for the rank, [best, worst]
    score: float  # priority score 0-100: mean points / N x 100
    score_se: float
    score_ci: tuple[float, float]
    mean_points: float  # Borda: N for a first choice down to 1 for the Nth, 0 if not picked
    first_choice_share: Share
    mention_share: Share
    p_top3: float  # probability the issue is truly among the top three
    versus_county: VersusCounty | None = None


class IssueTable(msgspec.Struct, frozen=True):
    """All issues in one area under one weighting, best first."""

    weighted: bool
    responses: int
    effective_n: float
    design_effect: float
    flagged: bool
    issues: list[IssueResult]


class PlackettLuceCheck(msgspec.Struct, frozen=True):
    """Plackett-Luce worths as a check on the Borda order in one area."""

    worths: dict[str, float]  # issue code -> worth, summing to 1
    ranks: dict[str, int]
    disagree: list[str]  # codes whose PL rank is outside Borda's rank range
    respondents: int  # rows the check was fitted on (may be a sample)


class County(msgspec.Struct, frozen=True):
    """County figures from the published districts: pooled respondents, and districts combined
    with population shares. Suppressed districts are left out, so no subtraction recovers them."""

    responses: int  # answers in the published districts
    unweighted: IssueTable | None
    weighted: IssueTable | None
    weighting: str  # how `weighted` was formed
    plackett_luce: PlackettLuceCheck | None = None
    left_out: list[str] = msgspec.field(default_factory=list)  # codes of suppressed districts with answers
    left_out_responses: int = 0  # their answers, not in any county figure


class District(msgspec.Struct, frozen=True):
    """One district's results, or the fact that they are suppressed."""

    code: str
    name: str
    responses: int | None  # None when suppressed
    suppressed: bool
    # "primary": fewer than min_cell answers. "secondary" (hidden to cover another district) is
    # made only by analysis-1.0; kept so that its stored reports still decode.
    suppression: Literal["primary", "secondary"] | None
    flagged: bool
    effective_n: float | None
    design_effect: float | None
    issues: list[IssueResult]  # unweighted; empty when suppressed
    weighted_issues: list[IssueResult] | None = None  # raked, when weighting targets were given
    plackett_luce: PlackettLuceCheck | None = None


class ClusterGroup(msgspec.Struct, frozen=True):
    """Districts with a similar concern profile, named by the issues that set them apart."""

    name: str
    districts: list[str]  # codes
    defining_issues: list[str]  # codes, most distinctive first


class Clusters(msgspec.Struct, frozen=True):
    """Ward clustering of district concern profiles, number of groups chosen by silhouette."""

    distinct: bool  # False: "no distinct groups" (silhouette under threshold, or within noise)
    silhouette: float | None
    noise_silhouette: float | None  # best silhouette sampling noise alone reaches 95% of the time
    threshold: float
    profile: str  # what each district's profile vector is
    groups: list[ClusterGroup]
    excluded: list[str]  # suppressed districts, left out


class GroupShare(msgspec.Struct, frozen=True):
    """An opinion group's share of one district's respondents."""

    district: str
    count: int | None  # None when suppressed
    share: float | None
    suppressed: bool
    flagged: bool


class DefiningIssue(msgspec.Struct, frozen=True):
    """An issue a group mentions far more often than everyone else."""

    code: str
    group_share: float
    rest_share: float
    z: float
    p_adjusted: float


class OpinionGroup(msgspec.Struct, frozen=True):
    """Residents whose picks look alike (k-means on Borda points)."""

    name: str
    size: int
    share: float
    defining_issues: list[DefiningIssue]
    profile: dict[str, float]  # issue code -> mean score 0-100 in the group
    districts: list[GroupShare]


class OpinionGroups(msgspec.Struct, frozen=True):
    """Opinion groups, Pol.is style, with how clear-cut and stable they are."""

    distinct: bool
    silhouette: float
    stability: float | None  # mean adjusted Rand index between refits on resamples (None: none run)
    fitted_on: int  # respondents in the fitting sample
    assigned: int  # respondents assigned to a group
    groups: list[OpinionGroup]


class Theme(msgspec.Struct, frozen=True):
    """A theme in residents' comments: its top terms, how many comments, a few quotes."""

    terms: list[str]
    size: int
    quotes: list[str]


class WaveChange(msgspec.Struct, frozen=True):
    """An issue's score in the previous wave and now."""

    code: str
    label: str
    previous: float
    current: float
    change: float
    z: float | None
    p_adjusted: float | None
    verdict: Literal["rose", "fell", "no clear change"]


class WaveArea(msgspec.Struct, frozen=True):
    """Wave-on-wave changes in one area (the county, or a district shown in both waves)."""

    area: str  # "county" or a district code
    changes: list[WaveChange]


class Waves(msgspec.Struct, frozen=True):
    """This wave against the previous one, on the issue codes both asked about."""

    previous_version: str
    shared: list[str]
    added: list[str]
    dropped: list[str]
    areas: list[WaveArea]


class Method(msgspec.Struct, frozen=True):
    """How the report was made, enough to repeat it."""

    version: str
    random_state: int | None
    interval: str
    draws: int  # Gaussian draws or bootstrap replicates (B)
    alpha: float
    stepdown: bool
    min_cell: int
    flag_base: int
    weighting: str
    county_weighting: str
    multiple_comparisons: str
    cluster_threshold: float
    notes: list[str]
    # Respondents (in published districts) who did not give each raking margin, and who gave none.
    unknown_traits: dict[str, int] = msgspec.field(default_factory=dict)
    unknown_on_every_margin: int = 0


class Report(msgspec.Struct, frozen=True):
    """Everything the analysis says about one survey wave."""

    responses: int
    max_picks: int
    method: Method
    county: County
    districts: list[District]
    clusters: Clusters | None = None
    opinion_groups: OpinionGroups | None = None
    themes: list[Theme] = msgspec.field(default_factory=list)
    waves: Waves | None = None
