"""Report parts that work from respondent rows or from earlier reports: PL check, opinion groups, waves."""

from __future__ import annotations

import numpy as np

from analysis.data import Responses, pick_stats
from analysis.differences import compare_waves
from analysis.disclosure import suppress_table
from analysis.inference import gaussian_draws, pair_se_from_cov, rank_sets
from analysis.opinion import ResidentGroups
from analysis.plackett_luce import TopNPlackettLuce, disagreements
from analysis.ranking import moments_from_stats
from analysis.schemas import (
    County,
    DefiningIssue,
    District,
    GroupShare,
    IssueResult,
    OpinionGroup,
    OpinionGroups,
    PlackettLuceCheck,
    Report,
    WaveArea,
    WaveChange,
    Waves,
)
from analysis.tables import pl_check


def group_name(labels: list[str], fallback: str) -> str:
    """A group's name from the labels of its defining issues: "Speeding, Road safety and Noise"."""
    if not labels:
        return fallback
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def pl_part(
    responses, codes: list[str], hidden: np.ndarray, settings, seed: int
) -> tuple[dict[int, PlackettLuceCheck], PlackettLuceCheck | None]:
    """Plackett-Luce checks for shown districts and the county, on up to settings.pl_sample rows each.

    Borda's rank ranges are recomputed on the very rows PL is fitted on (unweighted, like PL), so
    a disagreement is beyond the noise of that sample, not an artefact of PL seeing fewer rows.
    """
    rng = np.random.default_rng(seed)
    n_issues = responses.n_issues

    def check(rows: np.ndarray) -> PlackettLuceCheck:
        """Fit PL and Borda on (a sample of) rows and compare PL's ranks with Borda's ranges."""
        if rows.size > settings.pl_sample:
            rows = rng.choice(rows, size=settings.pl_sample, replace=False)
        picks = responses.picks[rows]
        model = TopNPlackettLuce().fit(picks, n_issues)
        m = moments_from_stats(pick_stats(Responses(picks, np.zeros(rows.size, dtype=np.int64), n_issues, 1)))
        draws = gaussian_draws(m.cov[0], settings.draws, rng)
        _, low, high = rank_sets(m.mean[0], draws, pair_se_from_cov(m.cov[0]), settings.alpha, settings.stepdown)
        flags = disagreements(model.rank_, low, high)
        return pl_check(model.worths_, model.rank_, flags, codes, rows.size)

    by_district = {}
    for d in range(responses.n_districts):
        rows = np.flatnonzero(responses.district == d)
        if not hidden[d] and rows.size > 0:
            by_district[d] = check(rows)
    county = check(np.arange(len(responses))) if len(responses) else None
    return by_district, county


def opinion_part(responses, codes, labels, district_codes, hidden, s, seed: int) -> OpinionGroups | None:
    """Opinion groups with their district shares, small cells suppressed (primary and secondary)."""
    if len(responses) < 3:
        return None
    model = ResidentGroups(
        max_groups=s.max_groups,
        sample_size=s.opinion_sample,
        silhouette_size=s.opinion_silhouette_sample,
        n_resamples=s.opinion_resamples,
        alpha=s.alpha,
        random_state=seed,
    )
    try:
        model.fit(responses.picks, responses.n_issues, responses.district, responses.n_districts)
    except ValueError:  # too few distinct answers to split
        return None
    counts = model.district_counts_
    forced = np.broadcast_to(hidden[None, :], counts.shape)
    masked = suppress_table(counts, s.min_cell, forced)
    base = counts.sum(axis=0)
    n = len(responses)
    top = responses.max_picks
    groups = []
    for g in range(model.n_groups_):
        defining = [
            DefiningIssue(codes[i], float(pg), float(pr), float(z), float(p)) for i, pg, pr, z, p in model.defining_[g]
        ]
        shares = [
            GroupShare(
                district=district_codes[d],
                count=None if masked[g, d] else int(counts[g, d]),
                share=None if masked[g, d] or base[d] == 0 else float(counts[g, d] / base[d]),
                suppressed=bool(masked[g, d]),
                flagged=bool(base[d] < s.flag_base),
            )
            for d in range(len(district_codes))
        ]
        name = group_name([labels[codes.index(d.code)] for d in defining], "No stand-out issue")
        groups.append(
            OpinionGroup(
                name=name,
                size=int(model.sizes_[g]),
                share=float(model.sizes_[g] / n),
                defining_issues=defining,
                profile={c: float(v / top * 100) for c, v in zip(codes, model.centres_[g], strict=True)},
                districts=shares,
            )
        )
    return OpinionGroups(
        distinct=bool(model.silhouette_ >= s.opinion_min_silhouette and model.stability_ >= s.opinion_min_stability),
        silhouette=model.silhouette_,
        stability=model.stability_ if np.isfinite(model.stability_) else None,
        fitted_on=model.fitted_on_,
        assigned=n,
        groups=groups,
    )


def _pick_table(weighted: bool, unweighted: list[IssueResult], weighted_list: list[IssueResult] | None):
    """The issues to compare: weighted when asked and available, else unweighted."""
    return weighted_list if (weighted and weighted_list) else unweighted


def _changes(now: list[IssueResult], before: list[IssueResult], s) -> list[WaveChange]:
    """Per shared issue, the change in score and whether it is beyond noise."""
    out = compare_waves(
        [i.code for i in now],
        np.array([i.score for i in now]),
        np.array([i.score_se for i in now]),
        [i.code for i in before],
        np.array([i.score for i in before]),
        np.array([i.score_se for i in before]),
        s.alpha,
        s.wave_adjustment,
    )
    label = {i.code: i.label for i in now}
    words = {1: "rose", -1: "fell", 0: "no clear change"}
    return [
        WaveChange(
            code=c,
            label=label[c],
            previous=float(out["previous"][k]),
            current=float(out["current"][k]),
            change=float(out["change"][k]),
            z=float(out["z"][k]) if np.isfinite(out["z"][k]) else None,
            p_adjusted=float(out["p_adjusted"][k]) if np.isfinite(out["p_adjusted"][k]) else None,
            verdict=words[int(out["verdict"][k])],
        )
        for k, c in enumerate(out["codes"])
    ]


def waves_part(previous: Report, county: County, districts: list[District], codes, s) -> Waves:
    """This wave against the previous: county and every district shown in both, shared codes only.

    Weighted tables are compared when both waves have them, unweighted otherwise.
    """
    before_county = previous.county
    both_weighted = county.weighted is not None and before_county.weighted is not None
    now_table = county.weighted if both_weighted else county.unweighted
    then_table = before_county.weighted if both_weighted else before_county.unweighted
    before_codes = [i.code for i in then_table.issues] if then_table else []
    areas = []
    if now_table and then_table:
        areas.append(WaveArea("county", _changes(now_table.issues, then_table.issues, s)))
    previous_by_code = {d.code: d for d in previous.districts}
    for d in districts:
        old = previous_by_code.get(d.code)
        if d.suppressed or old is None or old.suppressed:
            continue
        use_w = d.weighted_issues is not None and old.weighted_issues is not None
        now = _pick_table(use_w, d.issues, d.weighted_issues)
        then = _pick_table(use_w, old.issues, old.weighted_issues)
        areas.append(WaveArea(d.code, _changes(now, then, s)))
    return Waves(
        previous_version=previous.method.version,
        shared=[c for c in codes if c in before_codes],
        added=[c for c in codes if c not in before_codes],
        dropped=[c for c in before_codes if c not in codes],
        areas=areas,
    )
