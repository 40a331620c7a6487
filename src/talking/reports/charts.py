"""Charts for the analyst pages as SVG strings: no JavaScript, no inline styles, every word escaped.

Each chart is an image to assistive technology (role="img", named by its <title> and <desc>);
the page puts the same figures in a table beside it. Text is sized in SVG user units and the
drawing scales with its viewBox, so it fits a phone's width and stops growing on a desktop
(the `talking-report-chart` class). Colours are SVG presentation attributes, not CSS, so the
pages' Content-Security-Policy (no inline styles) allows them; no meaning rests on colour alone:
every row carries its label and value as text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 400
PAD = 8
FONT_SIZE = 16  # user units; at a phone's width that is about 14 px, on a desktop about 19 px
SMALL = 14
ROW = 46  # a label line, then the mark beneath it
MAX_LABEL = 38  # characters; longer labels are shortened here (the table has them whole)
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
INK = "#0b0c0c"
BLUE = "#1d70b8"
GRID = "#b1b4b6"


@dataclass(frozen=True, slots=True)
class Interval:
    """One row of a dot-and-whisker chart: an estimate, its interval, and optionally a value to compare with."""

    label: str
    value: float
    low: float
    high: float
    reference: float | None = None


@dataclass(frozen=True, slots=True)
class Bar:
    """One row of a bar chart."""

    label: str
    value: float


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def _num(x: float) -> str:
    """A coordinate, short."""
    return f"{x:.1f}".removesuffix(".0")


def axis_top(values: Sequence[float]) -> int:
    """The scale's end: the largest value rounded up to a ten (at least 10, at most 100)."""
    largest = max(values, default=0.0)
    return int(min(100, max(10, math.ceil(largest / 10) * 10)))


def _ticks(top: int) -> list[int]:
    step = 10 if top <= 50 else 20
    return list(range(0, top + 1, step))


def _svg(chart_id: str, title: str, description: str, height: float, body: list[str]) -> Markup:
    """The chart's root, named by its title and description; every part of `body` is already escaped."""
    name = escape(chart_id)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="talking-report-chart" role="img" '
        f'aria-labelledby="{name}-title {name}-desc" viewBox="0 0 {WIDTH} {_num(height)}" '
        f'width="100%" focusable="false" font-family="{escape(FONT)}" font-size="{FONT_SIZE}" fill="{INK}">'
        f'<title id="{name}-title">{escape(title)}</title><desc id="{name}-desc">{escape(description)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 (built from escaped parts only)


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, width: float = 1, dashes: str = "") -> str:
    dash = f' stroke-dasharray="{dashes}"' if dashes else ""
    return (
        f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
        f'stroke="{colour}" stroke-width="{_num(width)}"{dash}/>'
    )


def _text(x: float, y: float, words: str, *, anchor: str = "start", size: int = FONT_SIZE) -> str:
    anchor_attr = "" if anchor == "start" else f' text-anchor="{anchor}"'
    size_attr = "" if size == FONT_SIZE else f' font-size="{size}"'
    return f'<text x="{_num(x)}" y="{_num(y)}"{anchor_attr}{size_attr}>{escape(words)}</text>'


def _axis(y: float, top: int, x_of: Callable[[float], float], label: str) -> list[str]:
    """Tick labels under the plot and a caption naming the scale."""
    parts = [_line(PAD, y, WIDTH - PAD, y, INK)]
    for tick in _ticks(top):
        x = x_of(tick)
        anchor = "start" if tick == 0 else "end" if tick == top else "middle"
        parts.append(_line(x, y, x, y + 5, INK))
        parts.append(_text(x, y + 20, str(tick), anchor=anchor, size=SMALL))
    parts.append(_text(PAD, y + 40, label, size=SMALL))
    return parts


def _grid(y0: float, y1: float, top: int, x_of: Callable[[float], float]) -> list[str]:
    """Dotted upright lines at the ticks, across one row's marks (never through its label)."""
    return [_line(x_of(t), y0, x_of(t), y1, GRID, dashes="2 3") for t in _ticks(top)]


def _scale(top: int) -> Callable[[float], float]:
    """Value -> x, from 0 at the left margin to `top` at the right (values outside are clamped)."""
    span = WIDTH - 2 * PAD
    return lambda value: PAD + span * min(max(value, 0.0), top) / top


AXIS_LABEL = "Priority score (0 to 100)"


def _row_head(y: float, label: str, value: float) -> list[str]:
    """A row's label at the left and its value at the right, above its mark."""
    return [_text(PAD, y + 16, _short(label)), _text(WIDTH - PAD, y + 16, f"{value:.1f}", anchor="end")]


def dot_whisker(
    rows: Sequence[Interval],
    *,
    chart_id: str,
    title: str,
    description: str,
    reference_label: str | None = None,
) -> Markup:
    """Estimates as dots with their intervals as whiskers, one row each in the order given.

    When rows carry a reference (the county's score), it is drawn as a dark upright tick and the
    legend says so; the estimate is always a filled circle, so the two differ in shape, not only colour.
    """
    top = axis_top([r.high for r in rows] + [r.reference or 0 for r in rows])
    x_of = _scale(top)
    # Legend: the marks drawn as they appear in the rows, each named in words.
    body = [
        f'<circle cx="{PAD + 6}" cy="14" r="6" fill="{BLUE}"/>',
        _line(PAD + 24, 14, PAD + 52, 14, BLUE, 3),
        _text(PAD + 60, 19, "score, and its 95% interval", size=SMALL),
    ]
    y = 28.0
    if reference_label and any(r.reference is not None for r in rows):
        body += [_line(PAD + 6, y + 2, PAD + 6, y + 22, INK, 3), _text(PAD + 24, y + 17, reference_label, size=SMALL)]
        y += 28
    y += 8
    for row in rows:
        mid = y + 31
        low, high, at = x_of(row.low), x_of(row.high), x_of(row.value)
        body += _grid(y + 20, y + ROW - 2, top, x_of)
        body += _row_head(y, row.label, row.value)
        body += [_line(low, mid, high, mid, BLUE, 3), _line(low, mid - 6, low, mid + 6, BLUE, 2)]
        body.append(_line(high, mid - 6, high, mid + 6, BLUE, 2))
        if row.reference is not None:
            ref = x_of(row.reference)
            body.append(_line(ref, mid - 10, ref, mid + 10, INK, 3))
        body.append(
            f'<circle cx="{_num(at)}" cy="{_num(mid)}" r="6" fill="{BLUE}" stroke="#ffffff" stroke-width="1.5"/>'
        )
        y += ROW
    body += _axis(y + 4, top, x_of, AXIS_LABEL)
    return _svg(chart_id, title, description, y + 52, body)


def bar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    description: str,
) -> Markup:
    """Horizontal bars in the order given, each with its label above and its value at the right."""
    top = axis_top([b.value for b in bars])
    x_of = _scale(top)
    body: list[str] = []
    y = 4.0
    for bar in bars:
        width = max(x_of(bar.value) - PAD, 1.0 if bar.value > 0 else 0.0)
        body += _grid(y + 20, y + ROW - 2, top, x_of)
        body += _row_head(y, bar.label, bar.value)
        body.append(f'<rect x="{PAD}" y="{_num(y + 23)}" width="{_num(width)}" height="16" fill="{BLUE}"/>')
        y += ROW
    body += _axis(y + 4, top, x_of, AXIS_LABEL)
    return _svg(chart_id, title, description, y + 52, body)


def diverging_bars(
    bars: Sequence[Bar],
    *,
    limit: float,
    chart_id: str,
    title: str,
    description: str,
    left_label: str,
    right_label: str,
) -> Markup:
    """Bars to the left or right of a centre line (values from -limit to +limit), each row labelled.

    The two directions differ in position and in the words of the legend, not only in colour.
    """
    centre = WIDTH / 2
    half = WIDTH / 2 - PAD
    body = [
        _text(PAD, 16, f"← {left_label}", size=SMALL),
        _text(WIDTH - PAD, 16, f"{right_label} →", anchor="end", size=SMALL),
    ]
    y = 26.0
    for bar in bars:
        value = max(-limit, min(limit, bar.value))
        length = half * abs(value) / limit if limit else 0.0
        x = centre if value >= 0 else centre - length
        colour = BLUE if value >= 0 else "#d4351c"
        body += _row_head(y, bar.label, bar.value)
        body.append(_line(centre, y + 20, centre, y + ROW - 2, GRID, dashes="2 3"))
        if length:
            body.append(
                f'<rect x="{_num(x)}" y="{_num(y + 23)}" width="{_num(max(length, 1.0))}" height="16" fill="{colour}"/>'
            )
        y += ROW
    body.append(_line(centre, 22, centre, y, INK))
    return _svg(chart_id, title, description, y + 8, body)
