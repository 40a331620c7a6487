"""The map's shades: a sequential scheme that reads for colour-blind people and in greyscale, and its classes.

The five colours are viridis (van der Walt and Smith, 2015; CC0), sampled evenly and reversed so
that more is darker: designed to be perceptually uniform, to be read by people with the common
colour-vision deficiencies, and to keep its order in greyscale, because its lightness (CIE L*) falls
steadily from about 91 to 15. With fewer classes than colours, the classes take colours spread over
the whole scheme, so neighbours still differ clearly. Districts with no figure are never a shade of
the scheme: suppressed districts are hatched, districts with no data dotted, and both are said in words.

Classes are equal steps of a round size (1, 2, 2.5 or 5 times a power of ten) from a round number at
or below the smallest value, so the legend reads "20 to under 25" rather than "19.7 to under 24.9".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SCHEME = ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154")  # light (low) to dark (high)
MAX_CLASSES = len(SCHEME)
NO_DATA_FILL = "#ffffff"  # under a pattern of dots
SUPPRESSED_FILL = "#ffffff"  # under a hatching
PATTERN_INK = "#505a5f"
_ROUND_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class MapClass:
    """One class of values: from `low` up to (not including) `high`, except the last, which includes it."""

    index: int
    low: float
    high: float
    fill: str
    last: bool

    def holds(self, value: float) -> bool:
        """Whether the value falls in this class."""
        return self.low <= value and (value < self.high or (self.last and value <= self.high))


def _round_step(raw: float) -> float:
    """The smallest round step (1, 2, 2.5, 5 x 10^n) at least `raw`."""
    power = 10.0 ** math.floor(math.log10(raw))
    return next(s * power for s in _ROUND_STEPS if s * power >= raw * (1 - 1e-9))


def classify(values: Sequence[float], classes: int = MAX_CLASSES) -> list[MapClass]:
    """Up to `classes` equal classes of a round width covering the values, coloured across the scheme."""
    if not values:
        return []
    if not 1 <= classes <= MAX_CLASSES:
        raise ValueError(f"classes must be 1 to {MAX_CLASSES}")
    low, high = min(values), max(values)
    if math.isclose(low, high):
        return [MapClass(0, low, high, SCHEME[len(SCHEME) // 2], True)]
    step = _round_step((high - low) / classes)
    while True:
        start = math.floor(low / step + 1e-9) * step
        count = max(1, math.ceil((high - start) / step - 1e-9))
        if count <= classes:
            break
        step = _round_step(step * 1.0001)  # the next round step up
    fills = [SCHEME[round(i * (len(SCHEME) - 1) / (count - 1))] for i in range(count)] if count > 1 else [SCHEME[2]]
    return [
        MapClass(i, round(start + i * step, 9), round(start + (i + 1) * step, 9), fills[i], i == count - 1)
        for i in range(count)
    ]


def class_of(value: float, found: Sequence[MapClass]) -> MapClass:
    """The class a value falls in (values outside the classes go to the nearest end)."""
    for candidate in found:
        if candidate.holds(value):
            return candidate
    return found[0] if value < found[0].low else found[-1]


# --- lightness, for the tests and for choosing label ink ---------------------------------------------


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG's relative luminance (sRGB, D65) of a "#rrggbb" colour: 0 black to 1 white."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def lightness(colour: str) -> float:
    """CIE 1976 L* of a "#rrggbb" colour, 0 black to 100 white: how light it looks, and its grey in greyscale."""
    y = relative_luminance(colour)
    return 116 * y ** (1 / 3) - 16 if y > (6 / 29) ** 3 else y * (29 / 3) ** 3
