"""Statistical disclosure control: small cells are never shown, nor left to be worked out.

Primary suppression: a cell (a district, or a cross-tab cell such as one opinion group in one
district) with at least 1 and fewer than `min_cell` respondents is suppressed. Empty cells are
shown: there is nobody in them to disclose.

Districts within the county: the county figures are computed from the published districts
only (`published_only`), and say which districts they leave out and how many answers that is.
No published figure then contains a suppressed district, so no subtraction (county minus the
published districts) can recover one, and no district with enough answers is hidden for another's
sake. (Until analysis-1.1 the county counted everyone and the next smallest district was hidden
too, which could cost a district of hundreds of answers to cover one of five.)

Secondary suppression stays where totals over suppressed cells must be published: a cross-tab
(e.g. opinion group x district), whose row and column totals are shown. In every line with exactly
one suppressed cell, the smallest other non-empty cell is suppressed too (an empty one only if
there is no other), repeating until no line has exactly one. The suppressed cells of a line can
then be recovered only as a sum, which is at least min_cell. This is the usual simple rule; it
does not solve the full linear-programming attack on large tables, which this survey's small
tables do not need.

Flagging: an estimate on a base (respondents, or effective sample size when weighted) under
`flag_base` is shown but flagged as unreliable.
"""

from __future__ import annotations

import numpy as np

from analysis.data import PickStats, Responses


def primary(counts: np.ndarray, min_cell: int = 10) -> np.ndarray:
    """Cells with at least one and fewer than min_cell respondents."""
    counts = np.asarray(counts)
    return (counts > 0) & (counts < min_cell)


def _protect_line(counts: np.ndarray, hidden: np.ndarray) -> bool:
    """Suppress one more cell in a line holding exactly one suppressed cell; True if it did."""
    if hidden.sum() != 1 or hidden.size < 2:
        return False
    candidates = np.flatnonzero(~hidden & (counts > 0))
    if candidates.size == 0:
        candidates = np.flatnonzero(~hidden)
    hidden[candidates[np.argmin(counts[candidates])]] = True
    return True


def published_only(
    stats: PickStats, responses: Responses | None, hidden: np.ndarray
) -> tuple[PickStats, Responses | None]:
    """The statistics and rows with the hidden districts' respondents taken out (their districts
    stay, empty), so that every figure made from them, the county's included, is of the
    published districts alone."""
    hidden = np.asarray(hidden, dtype=bool)
    if not hidden.any():
        return stats, responses
    keep = (~hidden).astype(stats.n.dtype)
    shown = PickStats(
        n=stats.n * keep[:, None],
        counts=stats.counts * keep[:, None, None, None],
        point_sum=stats.point_sum * keep[:, None, None],
        point_cross=stats.point_cross * keep[:, None, None, None],
        max_picks=stats.max_picks,
        cell_levels=stats.cell_levels,
        margins=stats.margins,
    )
    rows = None if responses is None else responses.subset(~hidden[responses.district])
    return shown, rows


def suppress_table(counts: np.ndarray, min_cell: int = 10, forced: np.ndarray | None = None) -> np.ndarray:
    """Suppression mask for a two-way table whose row and column totals are published.

    forced: (R, C) cells that must be hidden whatever their size (e.g. a suppressed district's
    whole column).
    """
    counts = np.asarray(counts)
    hidden = primary(counts, min_cell)
    if forced is not None:
        hidden |= forced
    changed = True
    while changed:
        changed = False
        for r in range(counts.shape[0]):
            line = hidden[r].copy()
            if _protect_line(counts[r], line):
                hidden[r], changed = line, True
        for c in range(counts.shape[1]):
            line = hidden[:, c].copy()
            if _protect_line(counts[:, c], line):
                hidden[:, c], changed = line, True
    return hidden


def flagged(base: np.ndarray, flag_base: int = 30) -> np.ndarray:
    """Bases under flag_base: the estimate is shown but marked unreliable."""
    return np.asarray(base) < flag_base
