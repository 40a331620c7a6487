"""Statistical disclosure control: small cells are never shown, nor left to be worked out.

Primary suppression: a cell (a district, or a cross-tab cell such as one opinion group in one
district) with at least 1 and fewer than `min_cell` respondents is suppressed. Empty cells are
shown: there is nobody in them to disclose.

Secondary suppression: a published total minus the shown cells of its line would reveal a lone
suppressed cell. So in every line whose total is published (the districts adding to the county;
each row and each column of a cross-tab, whose margins are published) that has exactly one
suppressed cell, the smallest other non-empty cell is suppressed too (an empty one only if there
is no other), repeating until no line has exactly one. The suppressed cells of a line can then be
recovered only as a sum, which is at least min_cell. This is the usual simple rule; it does not
solve the full linear-programming attack on large tables, which this survey's small tables do
not need.

Flagging: an estimate on a base (respondents, or effective sample size when weighted) under
`flag_base` is shown but flagged as unreliable.
"""

from __future__ import annotations

import numpy as np


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


def suppress_line(counts: np.ndarray, min_cell: int = 10, forced: np.ndarray | None = None) -> np.ndarray:
    """Suppression mask for cells adding to a published total (e.g. districts within the county).

    forced: cells that must be hidden whatever their size.
    """
    counts = np.asarray(counts)
    hidden = primary(counts, min_cell)
    if forced is not None:
        hidden |= forced
    _protect_line(counts, hidden)
    return hidden


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
