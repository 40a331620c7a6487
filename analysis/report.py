"""One survey wave's full report, from sufficient statistics and/or respondent rows.

What each part needs:
- Issue rankings, shares, scores, rank ranges, district against county: `stats` (PickStats), or
  `responses` (all rows) from which the statistics are computed. The bootstrap interval
  resamples respondents and so needs all rows in `responses`.
- Weighted (raked) tables: `margin_targets` plus per-cell statistics whose margins match its
  keys (`stats` built with those margins), or `responses` whose traits hold them. Without
  targets, `responses.weights` (if set) are used as given; they then must be all the rows.
- Population-weighted county: `population` (per district, e.g. Census 2021).
- Plackett-Luce check and opinion groups: `responses`; a random sample of rows is enough.
- Themes: `comments`, with `comment_district` so no quote comes from a suppressed district.
- Waves: `previous`, the previous wave's Report (e.g. decoded from stored JSON).
"""

from __future__ import annotations

from typing import Literal

import msgspec
import numpy as np

from analysis import VERSION
from analysis.clusters import DistrictClusters
from analysis.data import PickStats, Responses, cell_index, pick_stats
from analysis.differences import versus_county
from analysis.disclosure import primary, published_only
from analysis.parts import group_name, opinion_part, pl_part, waves_part
from analysis.ranking import BordaRanker, population_shares
from analysis.schemas import ClusterGroup, Clusters, County, District, Method, Report
from analysis.tables import issue_table
from analysis.themes import comment_themes
from analysis.weighting import Raker


class ReportSettings(msgspec.Struct, frozen=True):
    """Every tunable of the report, with the defaults the web app uses."""

    alpha: float = 0.05
    interval: Literal["gaussian", "bootstrap"] = "gaussian"
    draws: int = 2000  # Gaussian draws, or bootstrap replicates B
    stepdown: bool = True
    random_state: int | None = 0
    min_cell: int = 10
    flag_base: int = 30
    weight_cap: float | None = 5.0
    rake_tol: float = 1e-8
    rake_max_iter: int = 200
    county_adjustment: Literal["holm", "bh"] = "holm"
    wave_adjustment: Literal["holm", "bh"] = "bh"
    cluster_threshold: float = 0.25
    max_groups: int = 6
    opinion_sample: int = 20_000
    opinion_silhouette_sample: int = 2_000
    opinion_resamples: int = 3
    # opinion groups count as distinct only above both bars; planted structureless top-5 answers
    # reach a silhouette of about 0.07-0.12, and k-means on them can still be stable
    opinion_min_silhouette: float = 0.2
    opinion_min_stability: float = 0.75
    pl_sample: int = 5_000  # most rows per area the Plackett-Luce check is fitted on
    n_themes: int = 5


DEFAULT_SETTINGS = ReportSettings()


def build_report(
    issue_codes: list[str],
    issue_labels: list[str],
    district_codes: list[str],
    district_names: list[str],
    *,
    stats: PickStats | None = None,
    responses: Responses | None = None,
    population: np.ndarray | None = None,
    margin_targets: dict[str, np.ndarray] | None = None,
    comments: list[str] | None = None,
    comment_district: np.ndarray | None = None,
    previous: Report | None = None,
    settings: ReportSettings = DEFAULT_SETTINGS,
) -> Report:
    """Assemble rankings, weighting, differences, groups, themes and waves for one survey wave."""
    s = settings
    seeds = [int(x) for x in np.random.SeedSequence(s.random_state).generate_state(6)]
    use_rows = s.interval == "bootstrap"
    if stats is None and responses is None:
        raise ValueError("give stats (sufficient statistics) or responses (rows)")
    if use_rows and responses is None:
        raise ValueError("the bootstrap resamples respondents: give responses (all rows)")
    margins = list(margin_targets or {})
    if stats is None or use_rows:
        stats = pick_stats(responses, margins)
    if margins and stats.margins != margins:
        raise ValueError(f"stats are kept by {stats.margins}, but targets are for {margins}")
    stats.check()
    codes, labels = list(issue_codes), list(issue_labels)
    top = stats.max_picks
    district_n = stats.n.sum(axis=1)
    total = int(district_n.sum())
    pop = None if population is None else np.asarray(population, float)

    # Disclosure: the whole report is withheld below min_cell respondents in all; otherwise only
    # the small districts are (primary suppression). Everything that follows, the county figures
    # included, is computed from the published districts alone: no subtraction from a published
    # figure can then recover a suppressed district, and no district with enough answers has to be
    # hidden for another's sake (see analysis.disclosure).
    too_few = total < s.min_cell
    hidden = np.ones_like(district_n, dtype=bool) if too_few else primary(district_n, s.min_cell)
    shown_stats, shown_rows = published_only(stats, responses, hidden)
    shown_n = shown_stats.n.sum(axis=1)
    nothing_shown = shown_n.sum() == 0
    pop_shown = None if pop is None or nothing_shown else pop

    raker, cell_w, row_w = _weights(shown_stats, shown_rows, margins, margin_targets, s)
    use_rows = use_rows or (row_w is not None and cell_w is None)
    weighted = cell_w is not None or row_w is not None

    def ranker(seed: int) -> BordaRanker:
        """A ranker with the report's settings."""
        return BordaRanker(s.alpha, s.interval, s.draws, s.stepdown, 3, seed)

    # the unweighted fit must not pick up weights carried by the rows
    plain_rows = None if shown_rows is None else msgspec.structs.replace(shown_rows, weights=None)
    plain = ranker(seeds[0]).fit(plain_rows if use_rows else shown_stats.by_district(), population=pop_shown)
    heavy = None
    if weighted:
        data = shown_rows if use_rows else shown_stats
        heavy = ranker(seeds[1]).fit(data, weights=row_w if use_rows else cell_w, population=pop_shown)
    head = heavy or plain

    pl_checks, county_pl = {}, None
    if shown_rows is not None and not nothing_shown:
        pl_checks, county_pl = pl_part(shown_rows, codes, hidden, s, seeds[2])
    districts = _districts(
        plain, heavy, pop_shown, district_n, hidden, pl_checks, codes, labels, district_codes, district_names, s
    )
    left_out = np.flatnonzero(hidden & (district_n > 0))
    county = _county(plain, head, pop, weighted, nothing_shown, county_pl, codes, labels, s)
    county = msgspec.structs.replace(
        county,
        left_out=[district_codes[d] for d in left_out],
        left_out_responses=int(district_n[left_out].sum()),
    )

    clusters = _clusters(head.districts_, district_n, hidden, codes, labels, district_codes, s, seeds[5])
    opinion = None
    # opinion groups are a district x group cross-table over every respondent: secondary
    # suppression inside the table protects the suppressed districts' cells
    if responses is not None and not nothing_shown:
        opinion = opinion_part(responses, codes, labels, district_codes, hidden, s, seeds[3])
    themes = []
    if comments:
        if comment_district is not None:
            quotable = ~hidden[np.asarray(comment_district, dtype=np.int64)]
        else:  # without districts no quote can be shown safely once any district is hidden
            quotable = np.full(len(comments), not hidden.any())
        themes = comment_themes(list(comments), s.n_themes, quotable=quotable, random_state=seeds[4])
    waves = None if previous is None or nothing_shown else waves_part(previous, county, districts, codes, s)
    method = _method(s, raker, margins, row_w is not None, county.weighting)
    notes = [*method.notes, *_left_out_notes(left_out, district_n, district_names, total)]
    if raker is not None:
        unknown, unknown_all = unknown_traits(shown_stats)
        notes.append(_unknown_note(unknown, unknown_all, int(shown_n.sum())))
        method = msgspec.structs.replace(method, unknown_traits=unknown, unknown_on_every_margin=unknown_all)
    method = msgspec.structs.replace(method, notes=notes)

    return Report(
        responses=total,
        max_picks=top,
        method=method,
        county=county,
        districts=districts,
        clusters=clusters,
        opinion_groups=opinion,
        themes=themes,
        waves=waves,
    )


def _weights(stats, responses, margins, margin_targets, s: ReportSettings):
    """Raking on cells when targets are given, else the caller's row weights: (raker, cell_w, row_w).

    With targets, row weights are also returned when the rows are used (bootstrap).
    """
    if margins:
        raker = Raker(cap=s.weight_cap, tol=s.rake_tol, max_iter=s.rake_max_iter)
        raker.fit_cells(stats.n, stats.cell_levels, [np.asarray(margin_targets[m]) for m in margins])
        row_w = None
        if s.interval == "bootstrap":
            # the rows' own cells, placed among the statistics' (made from every row, so the
            # published rows may lack a combination only a suppressed district had)
            cell, levels = cell_index(responses.traits, margins, len(responses))
            where = {tuple(row): k for k, row in enumerate(stats.cell_levels.tolist())}
            at = np.array([where[tuple(row)] for row in levels.tolist()], dtype=np.int64)
            row_w = raker.cell_weights_[responses.district, at[cell]]
        return raker, raker.cell_weights_, row_w
    if responses is not None and responses.weights is not None:
        return None, None, responses.weights
    return None, None, None


def _districts(plain, heavy, pop, district_n, hidden, pl_checks, codes, labels, district_codes, district_names, s):
    """Every district's results, or its suppression."""
    # each table is compared with the county beside it: pooled respondents for the unweighted
    # table; population shares (or, without them, shares of weight) for the weighted one
    shown_n = np.where(hidden, 0, district_n)
    plain_vs = _versus(plain.districts_, shown_n / max(shown_n.sum(), 1), s)
    heavy_vs = None
    if heavy is not None:
        denominator = heavy.districts_.moments.denominator
        shares = population_shares(pop, shown_n) if pop is not None else denominator / max(denominator.sum(), 1)
        heavy_vs = _versus(heavy.districts_, shares, s)
    out = []
    for d, (code, name) in enumerate(zip(district_codes, district_names, strict=True)):
        if hidden[d]:
            out.append(District(code, name, None, True, "primary", False, None, None, []))
            continue
        if district_n[d] == 0:  # no answers: nothing to estimate, nothing to hide
            out.append(District(code, name, 0, False, None, True, 0.0, None, []))
            continue
        table = issue_table(plain.districts_, d, codes, labels, "count", s.flag_base, plain_vs)
        wtable = None
        if heavy is not None:
            wtable = issue_table(heavy.districts_, d, codes, labels, "weight", s.flag_base, heavy_vs)
        shown = wtable or table
        out.append(
            District(
                code=code,
                name=name,
                responses=int(district_n[d]),
                suppressed=False,
                suppression=None,
                flagged=shown.flagged or table.flagged,
                effective_n=shown.effective_n,
                design_effect=shown.design_effect,
                issues=table.issues,
                weighted_issues=None if wtable is None else wtable.issues,
                plackett_luce=pl_checks.get(d),
            )
        )
    return out


def _county(plain, head, pop, weighted, too_few, county_pl, codes, labels, s) -> County:
    """County tables from the published districts: pooled respondents, and population-weighted
    (or pooled weighted) beside it. too_few: no published district has answers, so no tables."""
    if pop is not None:
        how = "districts combined with population shares" + (" (raked within district)" if weighted else "")
    elif weighted:
        how = "respondents pooled, weighted within district"
    else:
        how = "not given: no population"
    if too_few:
        return County(responses=int(plain.county_.moments.n[0]), unweighted=None, weighted=None, weighting=how)
    if pop is not None:
        county_w = issue_table(head.county_weighted_, 0, codes, labels, "combined", s.flag_base)
    elif weighted:
        county_w = issue_table(head.county_, 0, codes, labels, "weight", s.flag_base)
    else:
        county_w = None
    return County(
        responses=int(plain.county_.moments.n[0]),
        unweighted=issue_table(plain.county_, 0, codes, labels, "count", s.flag_base),
        weighted=county_w,
        weighting=how,
        plackett_luce=county_pl,
    )


def _versus(est, shares, s: ReportSettings) -> dict[str, np.ndarray]:
    """District-against-county tests on the 0-100 score, from one fit's district estimates."""
    scale = 100.0 / est.moments.max_picks
    return versus_county(est.score, (est.se * scale) ** 2, shares, s.alpha, s.county_adjustment)


def _clusters(est, district_n, hidden, codes, labels, district_codes, s: ReportSettings, seed: int) -> Clusters:
    """Ward clusters of the shown districts' score profiles, checked against sampling noise."""
    shown = np.flatnonzero(~hidden & (district_n > 0))
    excluded = [district_codes[d] for d in np.flatnonzero(hidden)]
    profile = "priority score (0-100) per issue"
    if shown.size < 3:
        return Clusters(False, None, None, s.cluster_threshold, profile, [], excluded)
    scale = (100.0 / est.moments.max_picks) ** 2
    fit = DistrictClusters(s.max_groups, s.cluster_threshold, random_state=seed)
    fit.fit(est.score[shown], est.moments.cov[shown] * scale)
    groups = []
    if fit.distinct_:
        for g in range(fit.n_groups_):
            members = [district_codes[d] for d in shown[fit.labels_ == g]]
            defining = [codes[i] for i in fit.defining_[g]]
            name = group_name([labels[i] for i in fit.defining_[g]], "Close to the county profile")
            groups.append(ClusterGroup(name, members, defining))
    sil = float(fit.silhouette_) if np.isfinite(fit.silhouette_) else None
    noise = float(fit.noise_silhouette_) if np.isfinite(fit.noise_silhouette_) else None
    return Clusters(fit.distinct_, sil, noise, s.cluster_threshold, profile, groups, excluded)


def _method(s: ReportSettings, raker, margins, row_weights: bool, county_how: str) -> Method:
    """The method block: settings, weighting and the rules applied."""
    if raker is not None:
        converged = "all districts converged" if raker.converged_.all() else "NOT all districts converged"
        weighting = f"raked within district to {', '.join(margins)} (cap {s.weight_cap}x mean; {converged})"
    elif row_weights:
        weighting = "respondent weights supplied by the caller"
    else:
        weighting = "none"
    notes = [
        "Rank ranges: simultaneous confidence sets for all ranks in an area (Mogstad, Romano, Shaikh "
        "and Wilhelm 2023), max-|t| over all pairwise differences of mean points"
        + (", step-down." if s.stepdown else "."),
        f"Districts with 1 to {s.min_cell - 1} respondents are suppressed: none of their figures is shown. "
        "County figures are computed from the published districts only, so no subtraction from them "
        "recovers a suppressed district and no district with enough answers is hidden for another's sake. "
        "Opinion-group-by-district counts keep secondary suppression: in every row and column with exactly "
        "one suppressed cell, the next smallest is suppressed too.",
        f"Estimates on fewer than {s.flag_base} respondents (or effective respondents) are flagged.",
        "Plackett-Luce: top-N lists as successive first choices among all issues not yet picked; "
        f"an issue is flagged when its PL rank is outside Borda's rank range on the same rows (at most "
        f"{s.pl_sample} per area, a random sample where there are more).",
        "District against county: difference in priority score, z-test with the district's own "
        f"share of the county taken into account, {s.county_adjustment} across issues.",
        "Raking: a respondent whose value on a margin is unknown (not given, or prefer not to say) sits out "
        "that margin's adjustment and is raked on the margins they did give, so targets are met among those "
        "who answered; one who gave none keeps weight 1. Weights are capped and rescaled to mean 1 per district.",
        f"District groups: Ward clustering of priority-score profiles, 2 to {s.max_groups} groups by "
        f"silhouette; 'no distinct groups' unless the best silhouette is at least {s.cluster_threshold} and "
        "above what sampling noise alone reaches 95% of the time.",
        f"Opinion groups: k-means on Borda points fitted on up to {s.opinion_sample} respondents, all "
        f"assigned; distinct when silhouette >= {s.opinion_min_silhouette} and stability (mean adjusted "
        f"Rand index over {s.opinion_resamples} resamples) >= {s.opinion_min_stability}.",
    ]
    return Method(
        version=VERSION,
        random_state=s.random_state,
        interval=s.interval,
        draws=s.draws,
        alpha=s.alpha,
        stepdown=s.stepdown,
        min_cell=s.min_cell,
        flag_base=s.flag_base,
        weighting=weighting,
        county_weighting=county_how,
        multiple_comparisons=f"county: {s.county_adjustment}; waves: {s.wave_adjustment}; opinion groups: holm",
        cluster_threshold=s.cluster_threshold,
        notes=notes,
    )


def _left_out_notes(left_out: np.ndarray, district_n: np.ndarray, names: list[str], total: int) -> list[str]:
    """The districts the county figures leave out, and how many answers that is (none: no note)."""
    if left_out.size == 0:
        return []
    which = ", ".join(f"{names[d]} ({int(district_n[d]):,})" for d in left_out)
    answers = int(district_n[left_out].sum())
    return [
        f"County figures leave out {left_out.size} suppressed district{'s' if left_out.size > 1 else ''} "
        f"with {answers:,} of the {total:,} answers: {which}."
    ]


def unknown_traits(stats: PickStats) -> tuple[dict[str, int], int]:
    """Respondents who did not give each margin, and who gave none of them."""
    levels, n = stats.cell_levels, stats.n.sum(axis=0)
    unknown = {m: int(n[levels[:, k] < 0].sum()) for k, m in enumerate(stats.margins)}
    return unknown, int(n[(levels < 0).all(axis=1)].sum()) if stats.margins else 0


def _unknown_note(unknown: dict[str, int], unknown_all: int, respondents: int) -> str:
    """In words: who sat out which margin of the raking."""
    each = "; ".join(f"{count:,} did not give {margin}" for margin, count in unknown.items())
    return (
        f"Of the {respondents:,} respondents weighted, {each}; each sits out only that margin. "
        f"{unknown_all:,} gave none of them and keep weight 1."
    )
