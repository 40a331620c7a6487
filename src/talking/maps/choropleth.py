"""A choropleth of the 14 districts as inline SVG, with its legend and its table, ready for a template.

No JavaScript and nothing from another host: the outlines are in the package (boundaries.py), the
shading is in SVG presentation attributes (the pages' CSP allows no inline style) and the focus and
hover looks are classes in assets/scss/_maps.scss. Each district is an `<a href>` named in words
("Preston: 42.1, priority score out of 100"), so Tab reaches every one; the labels are drawn above
every shape (so a neighbour never covers them) and hidden from assistive technology, which reads
the links' names and the table instead. The `<svg>` is a named group, not role="img": an image's
children are not announced, and the links must be.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape

from talking.maps.boundaries import ATTRIBUTION, Outline, outlines
from talking.maps.shading import (
    NO_DATA_FILL,
    PATTERN_INK,
    SUPPRESSED_FILL,
    MapClass,
    class_of,
    classify,
)

INK = "#0b0c0c"
BORDER = "#6f777b"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
FONT_SIZE = 14  # user units
LINE = 16
_MAP_ID = re.compile(r"[a-z][a-z0-9-]{0,40}")


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """One line of the legend: a swatch (decorative) and what it means in words."""

    swatch: Markup
    words: str


@dataclass(frozen=True, slots=True)
class MapRow:
    """One district in the table beside the map."""

    code: str
    name: str
    href: str | None
    value: str  # the figure, or why there is none
    note: str | None  # a caution beside the figure ("small base: under 30 answers")
    shade: str  # the legend line it is drawn with, in words
    state: str  # "value", "suppressed" or "no-data"


@dataclass(frozen=True, slots=True)
class DistrictMap:
    """Everything a page shows for one map: the SVG, its legend, its table and the boundaries' attribution."""

    id: str
    caption: str
    legend_title: str
    units: str
    svg: Markup
    legend: list[LegendEntry]
    rows: list[MapRow]
    attribution: str = ATTRIBUTION


def _patterns(prefix: str) -> str:
    """The hatching (suppressed) and the dots (no data), as SVG pattern definitions with ids under `prefix`."""
    return (
        f'<pattern id="{prefix}-hatch" patternUnits="userSpaceOnUse" width="7" height="7" '
        f'patternTransform="rotate(45)"><rect width="7" height="7" fill="{SUPPRESSED_FILL}"/>'
        f'<line x1="1.5" y1="0" x2="1.5" y2="7" stroke="{PATTERN_INK}" stroke-width="2"/></pattern>'
        f'<pattern id="{prefix}-dots" patternUnits="userSpaceOnUse" width="7" height="7">'
        f'<rect width="7" height="7" fill="{NO_DATA_FILL}"/><circle cx="3.5" cy="3.5" r="1.3" fill="{PATTERN_INK}"/>'
        f"</pattern>"
    )


def _fill(state: str, shade: MapClass | None, prefix: str) -> str:
    if state == "suppressed":
        return f"url(#{prefix}-hatch)"
    if state == "no-data" or shade is None:
        return f"url(#{prefix}-dots)"
    return shade.fill


def _swatch(fill: str, prefix: str) -> Markup:
    """A small decorative square in the legend, drawn as the map draws that class ("hatch", "dots" or a colour).

    Each swatch defines its own pattern under its own `prefix`, so ids never repeat on a page.
    """
    defs = ""
    if fill in ("hatch", "dots"):
        defs, fill = f"<defs>{_patterns(prefix)}</defs>", f"url(#{prefix}-{fill})"
    return Markup(  # noqa: S704 (our own colours and ids only)
        f'<svg class="talking-map-legend__swatch" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 28 20" '
        f'width="28" height="20" aria-hidden="true" focusable="false">{defs}'
        f'<rect x="0.5" y="0.5" width="27" height="19" fill="{escape(fill)}" stroke="{BORDER}"/></svg>'
    )


def _label(outline: Outline, value_text: str) -> str:
    """A district's name and figure above every shape: a white halo first, then the ink."""
    lines = [*outline.label_lines, value_text]
    top = outline.label_y - (len(lines) - 1) * LINE / 2 + FONT_SIZE / 3
    spans = "".join(
        f'<tspan x="{outline.label_x:.1f}" y="{top + i * LINE:.1f}"'
        + (' font-weight="bold"' if i == len(lines) - 1 else "")
        + f">{escape(line)}</tspan>"
        for i, line in enumerate(lines)
    )
    return (
        f'<text text-anchor="{outline.label_anchor}" stroke="#ffffff" stroke-width="3.5" stroke-linejoin="round">'
        f'{spans}</text><text text-anchor="{outline.label_anchor}" fill="{INK}">{spans}</text>'
    )


def district_map(
    map_id: str,
    values: Mapping[str, float | None],
    *,
    caption: str,
    legend_title: str,
    units: str,
    links: Mapping[str, str] | None = None,
    suppressed: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
    number_format: str = "{:.1f}",
    no_data: str = "no data",
) -> DistrictMap:
    """The map of every district shaded by its value, with its legend and its table.

    `values` maps ONS codes to figures (None, absent or not finite: no data; codes of no district
    are ignored); `suppressed` maps codes to why they show nothing ("fewer than 10 answers");
    `labels` replaces a district's printed figure with other words; `notes` adds a caution to a
    figure (in the table and the link's name, not on the drawing); `links` gives each district's
    page; `units` says what the figures are, in words ("out of 100"); `number_format` is a
    str.format pattern for every figure, legend included.
    """
    if not _MAP_ID.fullmatch(map_id):
        raise ValueError(f"map id {map_id!r} must be lower-case letters, digits and hyphens")
    links, suppressed, labels, notes = links or {}, suppressed or {}, labels or {}, notes or {}
    fmt: Callable[[float], str] = number_format.format
    drawn = outlines()
    shown = {
        o.code: float(v)
        for o in drawn.districts
        if o.code not in suppressed and (v := values.get(o.code)) is not None and math.isfinite(v)
    }  # NaN or infinity is no figure: it would have no class
    found = classify(list(shown.values()))

    def class_words(c: MapClass) -> str:
        if c.low == c.high:
            return fmt(c.low)
        return f"{fmt(c.low)} to {fmt(c.high)}" if c.last else f"{fmt(c.low)} to under {fmt(c.high)}"

    shapes, label_parts, rows = [], [], []
    for outline in drawn.districts:
        code = outline.code
        if code in suppressed:
            state, shade, text, why = "suppressed", None, "suppressed", f"suppressed ({suppressed[code]})"
            shade_words = "Hatched: suppressed"
        elif code in shown:
            shade = class_of(shown[code], found)
            state, text = "value", labels.get(code) or fmt(shown[code])
            why, shade_words = f"{text}, {units}", class_words(shade)
            if code in notes:
                why += f" ({notes[code]})"
        else:
            state, shade, text, why, shade_words = "no-data", None, no_data, no_data, f"Dotted: {no_data}"
        fill = _fill(state, shade, map_id)
        path = (
            f'<path class="talking-map__shape" d="{outline.path}" fill="{fill}" fill-rule="evenodd" '
            f'stroke="{BORDER}" stroke-width="1" vector-effect="non-scaling-stroke"/>'
        )
        name = escape(f"{outline.name}: {why}")
        href = links.get(code)
        if href:
            shapes.append(f'<a class="talking-map__area" href="{escape(href)}" aria-label="{name}">{path}</a>')
        else:
            shapes.append(f'<g class="talking-map__area" role="img" aria-label="{name}">{path}</g>')
        label_parts.append(_label(outline, text))
        note = notes.get(code) if state == "value" else None
        rows.append(MapRow(code, outline.name, href, why if state != "value" else text, note, shade_words, state))

    key = [(c.fill, class_words(c)) for c in found]
    if any(r.state == "suppressed" for r in rows):
        key.append(("hatch", "Hatched: suppressed (too few answers to show)"))
    if any(r.state == "no-data" for r in rows):
        key.append(("dots", f"Dotted: {no_data}"))
    legend = [LegendEntry(_swatch(fill, f"{map_id}-key{i}"), words) for i, (fill, words) in enumerate(key)]
    svg = _svg(map_id, caption, _description(rows, legend_title, units), drawn.width, drawn.height, shapes, label_parts)
    return DistrictMap(map_id, caption, legend_title, units, svg, legend, rows)


def _description(rows: list[MapRow], legend_title: str, units: str) -> str:
    """The map in a sentence or two, for assistive technology (the table has every figure)."""
    counts = {state: [r.name for r in rows if r.state == state] for state in ("value", "suppressed", "no-data")}
    parts = [f"Map of the {len(rows)} districts of Lancashire, each shaded by {legend_title.lower()} ({units})."]
    if counts["suppressed"]:
        parts.append(f"Suppressed, with too few answers to show: {', '.join(counts['suppressed'])}.")
    if counts["no-data"]:
        parts.append(f"No data: {', '.join(counts['no-data'])}.")
    parts.append("Each district links to its page; the table beside the map gives every figure.")
    return " ".join(parts)


def _svg(
    map_id: str, title: str, description: str, width: float, height: float, shapes: list[str], labels: list[str]
) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="talking-map" id="{map_id}" role="group" '
        f'aria-labelledby="{map_id}-title" aria-describedby="{map_id}-desc" viewBox="0 0 {width:g} {height:g}" '
        f'width="100%" font-family="{escape(FONT)}" font-size="{FONT_SIZE}">'
        f'<title id="{map_id}-title">{escape(title)}</title><desc id="{map_id}-desc">{escape(description)}</desc>'
        f"<defs>{_patterns(map_id)}</defs>"
    )
    # The labels come after every shape, so no neighbour is drawn over them; clicks pass through to the links.
    body = "".join(shapes) + '<g class="talking-map__labels" aria-hidden="true" pointer-events="none">'
    body += "".join(labels) + "</g>"
    return Markup(head + body + "</svg>")  # noqa: S704 (built from escaped parts only)
