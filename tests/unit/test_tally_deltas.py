"""The writer's tally additions, counted in Python (reports.tallies.batch_deltas), on a hand-counted batch.

That they equal the SQL recount of stored rows, on both engines, is tested in
tests/integration/test_reports_data.py; here the arithmetic is checked where it can be read.
"""

from __future__ import annotations

from talking.tallies import Counted, batch_deltas

PRESTON, WYRE = "E07000123", "E07000128"


def test_batch_deltas_count_respondents_positions_and_pair_points() -> None:
    batch = [
        # five picks allowed: points 5, 4, 3 for ranks 1-3
        Counted(1, PRESTON, "25-34", ("fraud", "burglary", "alcohol"), "Too many scams.", 5),
        Counted(1, PRESTON, "35-44", ("burglary", "fraud"), "", 5),  # an empty comment is no comment
        Counted(1, PRESTON, None, ("fraud",), None, 5),  # age not given; one pick makes no pairs
        Counted(1, WYRE, "75-and-over", ("alcohol", "fraud"), "Litter.", 5),
        Counted(2, PRESTON, "made-up-band", ("speeding",), None, 1),  # an unknown band is "not given"
    ]
    deltas = {table: sorted(rows) for table, rows in batch_deltas(batch).items()}  # in no particular order
    assert deltas["tally_respondents"] == [
        (1, PRESTON, 0, 1, 0),
        (1, PRESTON, 1, 2, 1),
        (1, WYRE, 2, 1, 1),
        (2, PRESTON, 0, 1, 0),
    ]
    assert deltas["tally_positions"] == [
        (1, PRESTON, 0, "fraud", 1, 1),
        (1, PRESTON, 1, "alcohol", 3, 1),
        (1, PRESTON, 1, "burglary", 1, 1),
        (1, PRESTON, 1, "burglary", 2, 1),
        (1, PRESTON, 1, "fraud", 1, 1),
        (1, PRESTON, 1, "fraud", 2, 1),
        (1, WYRE, 2, "alcohol", 1, 1),
        (1, WYRE, 2, "fraud", 2, 1),
        (2, PRESTON, 0, "speeding", 1, 1),
    ]
    # issue_a before issue_b in code order; points multiply, and add up across respondents
    assert deltas["tally_pairs"] == [
        (1, PRESTON, 1, "alcohol", "burglary", 3 * 4),
        (1, PRESTON, 1, "alcohol", "fraud", 3 * 5),
        (1, PRESTON, 1, "burglary", "fraud", 4 * 5 + 5 * 4),
        (1, WYRE, 2, "alcohol", "fraud", 5 * 4),
    ]


def test_an_empty_batch_adds_nothing() -> None:
    assert batch_deltas([]) == {"tally_respondents": [], "tally_positions": [], "tally_pairs": []}
