"""The writer's tally additions, counted in Python (reports.tallies.batch_deltas), on a hand-counted batch.

That they equal the SQL recount of stored rows, on both engines, is tested in
tests/integration/test_reports_data.py; here the arithmetic is checked where it can be read.
"""

from __future__ import annotations

from talking.reference import AGE_BANDS, SEXES
from talking.tallies import NOT_GIVEN, Counted, age_level_of, batch_deltas, sex_level_of

PRESTON, WYRE = "E07000123", "E07000128"


def test_batch_deltas_count_respondents_positions_and_pair_points() -> None:
    batch = [
        # five picks allowed: points 5, 4, 3 for ranks 1-3; 25-34 is age level 2, female sex level 1
        Counted(1, PRESTON, "25-34", "female", ("fraud", "burglary", "alcohol"), "Too many scams.", 5),
        Counted(1, PRESTON, "25-34", "female", ("burglary", "fraud"), "", 5),  # an empty comment is no comment
        Counted(1, PRESTON, "35-44", "male", ("fraud",), None, 5),  # one pick makes no pairs
        Counted(1, PRESTON, None, "prefer-not-to-say", ("fraud",), None, 5),  # neither given: level 0, 0
        Counted(1, WYRE, "75-and-over", None, ("alcohol", "fraud"), "Litter.", 5),  # sex not given
        Counted(2, PRESTON, "made-up-band", "made-up", ("speeding",), None, 1),  # unknown codes are "not given"
    ]
    deltas = {table: sorted(rows) for table, rows in batch_deltas(batch).items()}  # in no particular order
    assert deltas["tally_respondents"] == [
        (1, PRESTON, 0, 0, 1, 0),
        (1, PRESTON, 2, 1, 2, 1),
        (1, PRESTON, 3, 2, 1, 0),
        (1, WYRE, 7, 0, 1, 1),
        (2, PRESTON, 0, 0, 1, 0),
    ]
    assert deltas["tally_positions"] == [
        (1, PRESTON, 0, 0, "fraud", 1, 1),
        (1, PRESTON, 2, 1, "alcohol", 3, 1),
        (1, PRESTON, 2, 1, "burglary", 1, 1),
        (1, PRESTON, 2, 1, "burglary", 2, 1),
        (1, PRESTON, 2, 1, "fraud", 1, 1),
        (1, PRESTON, 2, 1, "fraud", 2, 1),
        (1, PRESTON, 3, 2, "fraud", 1, 1),
        (1, WYRE, 7, 0, "alcohol", 1, 1),
        (1, WYRE, 7, 0, "fraud", 2, 1),
        (2, PRESTON, 0, 0, "speeding", 1, 1),
    ]
    # issue_a before issue_b in code order; points multiply, and add up across respondents
    assert deltas["tally_pairs"] == [
        (1, PRESTON, 2, 1, "alcohol", "burglary", 3 * 4),
        (1, PRESTON, 2, 1, "alcohol", "fraud", 3 * 5),
        (1, PRESTON, 2, 1, "burglary", "fraud", 4 * 5 + 5 * 4),
        (1, WYRE, 7, 0, "alcohol", "fraud", 5 * 4),
    ]


def test_every_answerable_band_and_sex_has_its_own_level() -> None:
    assert [age_level_of(c.code) for c in AGE_BANDS] == [1, 2, 3, 4, 5, 6, 7, NOT_GIVEN]
    assert [sex_level_of(c.code) for c in SEXES] == [1, 2, NOT_GIVEN]
    assert age_level_of(None) == sex_level_of(None) == NOT_GIVEN


def test_an_empty_batch_adds_nothing() -> None:
    assert batch_deltas([]) == {"tally_respondents": [], "tally_positions": [], "tally_pairs": []}
