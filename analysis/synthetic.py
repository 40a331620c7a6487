"""Realistic synthetic top-N answers with known structure, for tests and the demo loader.

Answers come from a top-N Plackett-Luce model: each resident picks their first issue with
probability proportional to its worth, then the next among those left, and so on. Worths differ
by district group (planted district profiles), by resident type (planted opinion groups) and by
age, and older residents answer more often than their share of the population (so raking has
something to correct). Comments are drawn from planted themes.
"""

from __future__ import annotations

import msgspec
import numpy as np

from analysis.data import NO_PICK, Responses

THEME_WORDS = {
    "speeding": ["speeding", "cars", "racing", "traffic", "speed", "bumps", "cameras", "lorries"],
    "drugs": ["drugs", "dealing", "dealers", "cannabis", "needles", "smell", "alleyway", "park"],
    "litter": ["litter", "rubbish", "tipping", "bins", "dumped", "mattresses", "mess", "fly"],
    "youths": ["teenagers", "gangs", "shouting", "motorbikes", "youths", "fireworks", "bus", "shelter"],
    "police": ["police", "patrols", "officers", "pcso", "presence", "visible", "beat", "station"],
    "scams": ["scam", "calls", "phone", "pensioners", "fraudsters", "doorstep", "bank", "online"],
}
_FILLER = ["really", "every", "night", "street", "estate", "worse", "please", "near", "our", "the"]


class SyntheticAnswer(msgspec.Struct, frozen=True):
    """One planted answer in codes, shaped like the web app's response (traits as level indexes)."""

    district: str
    picks: list[str]
    comment: str | None
    age_band: int | None
    sex: int | None


class SyntheticSurvey(msgspec.Struct):
    """A planted survey: the answers plus the truth they were drawn from."""

    responses: Responses
    issue_codes: list[str]
    issue_labels: list[str]
    district_codes: list[str]
    district_names: list[str]
    district_group: np.ndarray  # (D,) planted district group
    worths: np.ndarray  # (D, I) district worths before resident-type and age tilts
    resident_type: np.ndarray  # (n,) planted opinion group
    comments: list[str]  # one per respondent, "" for none
    comment_theme: np.ndarray  # (n,) index into THEME_WORDS, -1 for no comment
    population: np.ndarray  # (D,)
    age_targets: np.ndarray  # (D, 2) population shares under 65 / 65 and over
    sex_targets: np.ndarray  # (D, 2) female / male

    def answers(self) -> list[SyntheticAnswer]:
        """The answers as codes, e.g. for a demo loader to post or write."""
        r = self.responses
        age, sex = r.traits["age_band"], r.traits["sex"]
        return [
            SyntheticAnswer(
                district=self.district_codes[r.district[k]],
                picks=[self.issue_codes[i] for i in r.picks[k] if i != NO_PICK],
                comment=self.comments[k] or None,
                age_band=None if age[k] == NO_PICK else int(age[k]),
                sex=None if sex[k] == NO_PICK else int(sex[k]),
            )
            for k in range(len(r))
        ]


def sample_top_n(
    worths: np.ndarray, max_picks: int, rng: np.random.Generator, lengths: np.ndarray | None = None
) -> np.ndarray:
    """Top-N lists from a Plackett-Luce model, one per row of worths (n, I), by the Gumbel-max trick.

    lengths: optional (n,) number of picks each resident makes (the rest are NO_PICK).
    """
    with np.errstate(divide="ignore"):
        keys = np.log(worths) + rng.gumbel(size=worths.shape)
    top = np.argpartition(-keys, max_picks - 1, axis=1)[:, :max_picks]
    order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1)
    picks = np.take_along_axis(top, order, axis=1).astype(np.int64)
    if lengths is not None:
        picks[np.arange(max_picks)[None, :] >= np.asarray(lengths)[:, None]] = NO_PICK
    return picks


def make_survey(
    n_respondents: int = 5000,
    n_issues: int = 20,
    n_districts: int = 14,
    max_picks: int = 5,
    n_groups: int = 3,
    group_strength: float = 4.0,
    n_types: int = 0,
    type_strength: float = 6.0,
    district_sizes: np.ndarray | None = None,
    short_rate: float = 0.1,
    comment_rate: float = 0.3,
    seed: int = 0,
) -> SyntheticSurvey:
    """Draw a planted survey.

    n_groups districts groups (0 or 1: no district structure) each raise the worth of three
    issues of their own by group_strength; n_types resident types (0: none) each raise three other
    issues by type_strength. district_sizes fixes respondents per district (else random shares).
    short_rate: share of residents who pick fewer than max_picks.
    """
    rng = np.random.default_rng(seed)
    # county-wide appeal falls off smoothly, so the Borda order is known but not trivial
    base = np.exp(np.linspace(1.2, -1.2, n_issues))
    group_of = np.arange(n_districts) % max(n_groups, 1)
    worths = np.tile(base, (n_districts, 1))
    if n_groups > 1:
        for g in range(n_groups):
            boosted = (np.arange(3) + 3 * g + 2) % n_issues
            worths[np.ix_(group_of == g, boosted)] *= group_strength
    if district_sizes is None:
        share = rng.dirichlet(np.full(n_districts, 8.0))
        district = rng.choice(n_districts, size=n_respondents, p=share)
    else:
        district = np.repeat(np.arange(n_districts), np.asarray(district_sizes))
        n_respondents = district.size

    person = worths[district].copy()
    resident_type = np.zeros(n_respondents, dtype=np.int64)
    if n_types > 0:
        resident_type = rng.integers(0, n_types, size=n_respondents)
        for t in range(n_types):
            boosted = (np.arange(3) + 3 * t + n_issues // 2) % n_issues
            person[np.ix_(resident_type == t, boosted)] *= type_strength

    # older residents answer more than their share and worry more about the last issues
    age = np.where(rng.random(n_respondents) < 0.55, 1, 0)
    age[rng.random(n_respondents) < 0.05] = NO_PICK
    person[age == 1, -4:] *= 2.5
    sex = np.where(rng.random(n_respondents) < 0.58, 0, 1)
    sex[rng.random(n_respondents) < 0.02] = NO_PICK

    lengths = np.full(n_respondents, max_picks)
    short = rng.random(n_respondents) < short_rate
    lengths[short] = rng.integers(1, max_picks, size=short.sum()) if max_picks > 1 else 1
    picks = sample_top_n(person, max_picks, rng, lengths)

    theme = np.where(rng.random(n_respondents) < comment_rate, rng.integers(0, len(THEME_WORDS), n_respondents), -1)
    comments = [_comment(t, rng) for t in theme]

    old_share = rng.uniform(0.18, 0.32, n_districts)
    female = rng.uniform(0.49, 0.53, n_districts)
    return SyntheticSurvey(
        responses=Responses(
            picks=picks,
            district=district.astype(np.int64),
            n_issues=n_issues,
            n_districts=n_districts,
            traits={"age_band": age, "sex": sex},
        ),
        issue_codes=[f"issue-{i:02d}" for i in range(n_issues)],
        issue_labels=[f"Issue {i}" for i in range(n_issues)],
        district_codes=[f"D{d:02d}" for d in range(n_districts)],
        district_names=[f"District {d}" for d in range(n_districts)],
        district_group=group_of,
        worths=worths,
        resident_type=resident_type,
        comments=comments,
        comment_theme=theme,
        population=rng.integers(60_000, 160_000, n_districts).astype(float),
        age_targets=np.stack([1 - old_share, old_share], axis=1),
        sex_targets=np.stack([female, 1 - female], axis=1),
    )


def _comment(theme: int, rng: np.random.Generator) -> str:
    """A short comment built from one planted theme's words and some filler."""
    if theme < 0:
        return ""
    words = list(THEME_WORDS)[theme]
    chosen = list(rng.choice(THEME_WORDS[words], size=4, replace=False))
    chosen += list(rng.choice(_FILLER, size=3, replace=False))
    rng.shuffle(chosen)
    return " ".join(chosen).capitalize() + "."
