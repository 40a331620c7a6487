"""A survey's answers, out of the database in the shapes `analysis` takes.

Statistics come from the running tallies (talking.tallies): their cost grows with
districts x issues, not with answers. Respondent rows, which only the Plackett-Luce check,
opinion groups and themes need, come as a reproducible pseudo-random sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, func, select, text

from analysis.data import NO_PICK, PickStats, Responses
from talking.db.models import (
    survey_districts,
    survey_issues,
    surveys,
    tally_pairs,
    tally_positions,
    tally_respondents,
)
from talking.errors import SurveyNotFound
from talking.reference import districts as reference_districts
from talking.reference.residents import WEIGHTING_AGE_BANDS, WEIGHTING_SEXES, residents_by_district
from talking.tallies import age_level_of, respondent_counts, sex_level_of

# Raking margins: each district's Census 2021 residents aged 16 and over by the survey's own age
# bands and by sex (talking.reference.residents), kept in the tallies as level numbers
# (talking.tallies). "Prefer not to say" and no answer are unknown (NO_PICK here): such a
# respondent sits out that margin and is raked on the other.
AGE_MARGIN = "age band"
SEX_MARGIN = "sex"
MARGINS = [AGE_MARGIN, SEX_MARGIN]
_SEX_LEVELS = len(WEIGHTING_SEXES) + 1  # with NOT_GIVEN
# Weighting cells: every stored (age level, sex level), cell = age_level * _SEX_LEVELS + sex_level;
# each cell's analysis levels are the stored level - 1, so NOT_GIVEN (0) becomes NO_PICK (-1).
CELL_LEVELS = np.array(
    [[age - 1, sex - 1] for age in range(len(WEIGHTING_AGE_BANDS) + 1) for sex in range(_SEX_LEVELS)],
    dtype=np.int64,
)


@dataclass(frozen=True, slots=True)
class SurveyFrame:
    """What a report is about: the survey, its issues in order and the districts it reports on."""

    id: int
    title: str
    status: str
    wave: int
    previous_wave_id: int | None
    max_picks: int
    issue_codes: list[str]
    issue_labels: list[str]
    district_codes: list[str]  # the districts covered, and any that answered, in name order
    district_names: list[str]
    population: np.ndarray  # Census 2021 residents per district
    age_targets: np.ndarray  # (districts, 7): shares of residents 16+ in each of the survey's age bands
    sex_targets: np.ndarray  # (districts, 2): shares of residents 16+ female, male

    def margin_targets(self) -> dict[str, np.ndarray]:
        """The raking targets by margin, in the order the statistics keep their cells (MARGINS)."""
        return {AGE_MARGIN: self.age_targets, SEX_MARGIN: self.sex_targets}

    def district_index(self) -> dict[str, int]:
        """District code -> position in the report."""
        return {code: i for i, code in enumerate(self.district_codes)}

    def issue_index(self) -> dict[str, int]:
        """Issue code -> position in the report."""
        return {code: i for i, code in enumerate(self.issue_codes)}

    def issue_label_of(self) -> dict[str, str]:
        """Issue code -> its label in this survey."""
        return dict(zip(self.issue_codes, self.issue_labels, strict=True))

    def district_name_of(self) -> dict[str, str]:
        """District code -> its name."""
        return dict(zip(self.district_codes, self.district_names, strict=True))


def load_frame(conn: Connection, survey_id: int) -> SurveyFrame:
    """The survey's definition and reference data; raises SurveyNotFound."""
    survey = conn.execute(select(surveys).where(surveys.c.id == survey_id)).one_or_none()
    if survey is None:
        raise SurveyNotFound(survey_id)
    issues = conn.execute(
        select(survey_issues.c.code, survey_issues.c.label)
        .where(survey_issues.c.survey_id == survey_id)
        .order_by(survey_issues.c.position)
    ).all()
    sd = survey_districts
    covered = set(conn.execute(select(sd.c.district_code).where(sd.c.survey_id == survey_id)).scalars())
    answered = set(
        conn.execute(
            select(tally_respondents.c.district_code).where(tally_respondents.c.survey_id == survey_id).distinct()
        ).scalars()
    )
    areas = [d for d in reference_districts() if d.code in covered | answered]
    residents = residents_by_district()
    by_age = [[residents[d.code].by_age_band[band] for band in WEIGHTING_AGE_BANDS] for d in areas]
    by_sex = [[residents[d.code].by_sex[sex] for sex in WEIGHTING_SEXES] for d in areas]
    return SurveyFrame(
        id=survey.id,
        title=survey.title,
        status=survey.status,
        wave=survey.wave,
        previous_wave_id=survey.previous_wave_id,
        max_picks=survey.max_picks,
        issue_codes=[i.code for i in issues],
        issue_labels=[i.label for i in issues],
        district_codes=[d.code for d in areas],
        district_names=[d.name for d in areas],
        population=np.array([d.population for d in areas], dtype=float),
        age_targets=_shares(by_age, len(WEIGHTING_AGE_BANDS)),
        sex_targets=_shares(by_sex, len(WEIGHTING_SEXES)),
    )


def _shares(counts: list[list[int]], levels: int) -> np.ndarray:
    """Each district's counts as shares of its row (districts, levels)."""
    array = np.array(counts, dtype=float).reshape(-1, levels)
    return array / np.maximum(array.sum(axis=1, keepdims=True), 1)


def traits_of(age_band: str | None, sex: str | None) -> tuple[int, int]:
    """The raking levels of an answered age band and sex (NO_PICK when not given or not said)."""
    return age_level_of(age_band) - 1, sex_level_of(sex) - 1


def load_stats(conn: Connection, frame: SurveyFrame) -> PickStats:
    """Sufficient statistics by district and weighting cell (age band x sex), read from the running tallies."""
    d_at, i_at = frame.district_index(), frame.issue_index()
    n_d, n_c, n_i, top = len(frame.district_codes), len(CELL_LEVELS), len(frame.issue_codes), frame.max_picks
    n = np.zeros((n_d, n_c), dtype=np.int64)
    counts = np.zeros((n_d, n_c, n_i, top), dtype=np.int64)
    cross = np.zeros((n_d, n_c, n_i, n_i), dtype=np.int64)
    t = tally_respondents
    for code, age, sex, count in conn.execute(
        select(t.c.district_code, t.c.age_level, t.c.sex_level, t.c.respondents).where(t.c.survey_id == frame.id)
    ):
        n[d_at[code], age * _SEX_LEVELS + sex] += count
    p = tally_positions
    for code, age, sex, issue, rank, count in conn.execute(
        select(p.c.district_code, p.c.age_level, p.c.sex_level, p.c.issue_code, p.c.rank, p.c.picks).where(
            p.c.survey_id == frame.id
        )
    ):
        counts[d_at[code], age * _SEX_LEVELS + sex, i_at[issue], rank - 1] += count
    q = tally_pairs
    for code, age, sex, a, b, product in conn.execute(
        select(q.c.district_code, q.c.age_level, q.c.sex_level, q.c.issue_a, q.c.issue_b, q.c.point_product).where(
            q.c.survey_id == frame.id
        )
    ):
        d, c, i, j = d_at[code], age * _SEX_LEVELS + sex, i_at[a], i_at[b]
        cross[d, c, i, j] += product
        cross[d, c, j, i] += product
    points = np.arange(top, 0, -1)
    idx = np.arange(n_i)
    cross[:, :, idx, idx] = counts @ points**2
    return PickStats(
        n=n,
        counts=counts,
        point_sum=counts @ points,
        point_cross=cross,
        max_picks=top,
        cell_levels=CELL_LEVELS.copy(),
        margins=list(MARGINS),
    )


def respondents(conn: Connection, survey_id: int) -> int:
    """How many responses the survey has, from the tallies."""
    total = conn.execute(respondent_counts().where(tally_respondents.c.survey_id == survey_id)).scalar_one()
    return int(total or 0)


def repeat_answers(conn: Connection, survey_id: int) -> int:
    """How many responses came from a browser that had already answered the survey (a partial index holds those)."""
    query = text("SELECT count(*) FROM responses WHERE survey_id = :survey_id AND repeat_in_browser")
    return int(conn.execute(query, {"survey_id": survey_id}).scalar_one())


# A reproducible sample: Knuth's multiplicative hash of the id, kept when below a cut. Unlike
# "every k-th id" it cannot fall into step with any pattern in the order answers arrived.
_HASH = "((r.id * 2654435761) % 4294967296)"


def _sampled(conn: Connection, survey_id: int, columns: str, fraction: float, also: str = "") -> list:
    """Columns of the survey's responses r (all, or a pseudo-random fraction), in the order they arrived."""
    condition, params = ("", {}) if fraction >= 1 else (f" AND {_HASH} < :cut", {"cut": int(fraction * 4294967296)})
    query = f"SELECT {columns} FROM responses r WHERE r.survey_id = :survey_id{condition}{also} ORDER BY r.id"  # noqa: S608 - fixed text
    return conn.execute(text(query), {"survey_id": survey_id, **params}).all()


def load_rows(conn: Connection, frame: SurveyFrame, fraction: float = 1.0) -> Responses:
    """Respondent rows (all, or a pseudo-random fraction), with age band and sex levels as traits."""
    rows = _sampled(conn, frame.id, "r.district_code, r.age_band, r.sex, r.ranked_picks", fraction)
    d_at, i_at = frame.district_index(), frame.issue_index()
    levels = np.array([traits_of(r[1], r[2]) for r in rows], dtype=np.int64).reshape(-1, len(MARGINS))
    picks = np.full((len(rows), frame.max_picks), NO_PICK, dtype=np.int64)
    for at, row in enumerate(rows):
        ranked = [i_at[code] for code in row[3].split()]
        picks[at, : len(ranked)] = ranked
    return Responses(
        picks=picks,
        district=np.array([d_at[r[0]] for r in rows], dtype=np.int64),
        n_issues=len(frame.issue_codes),
        n_districts=len(frame.district_codes),
        traits={AGE_MARGIN: levels[:, 0], SEX_MARGIN: levels[:, 1]},
    ).check()


def load_sample(conn: Connection, frame: SurveyFrame, size: int) -> Responses:
    """About `size` respondent rows, a reproducible pseudo-random sample (all rows when fewer)."""
    total = respondents(conn, frame.id)
    return load_rows(conn, frame, 1.0 if total <= size else size / total)


def load_comments(conn: Connection, frame: SurveyFrame, size: int) -> tuple[list[str], np.ndarray]:
    """About `size` comments, a reproducible sample, with each one's district index."""
    t = tally_respondents
    total = conn.execute(select(func.coalesce(func.sum(t.c.comments), 0)).where(t.c.survey_id == frame.id)).scalar_one()
    fraction = 1.0 if total <= size else size / total
    rows = _sampled(conn, frame.id, "r.district_code, r.comment", fraction, also=" AND r.comment <> ''")
    d_at = frame.district_index()
    return [r[1] for r in rows], np.array([d_at[r[0]] for r in rows], dtype=np.int64)


__all__ = [
    "AGE_MARGIN",
    "MARGINS",
    "SEX_MARGIN",
    "SurveyFrame",
    "load_comments",
    "load_frame",
    "load_rows",
    "load_sample",
    "load_stats",
    "respondents",
]
