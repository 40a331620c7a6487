"""The 14 districts' outlines, projected to British National Grid and fitted to the map's drawing, once.

The boundaries (talking/reference/lancashire_districts.geojson, ONS, OGL) are WGS84 longitude and
latitude. Drawn as they are, a degree of longitude (about 65 km at 54°N) would be stretched to the
width of a degree of latitude (111 km), so they are projected first, with pyproj (PROJ's maintained
Python binding), from EPSG:4326 to EPSG:27700, the British National Grid: a Transverse Mercator on
the Airy 1830 ellipsoid, true to scale within about 0.04% across Great Britain. Without the OSTN15
grid file (not shipped; PROJ would have to download it) PROJ shifts the datum by its 7-parameter
Helmert transformation, good to about 3 m: the outlines are generalised to 200 m, so that is far
below anything the map can show.

The projected outlines are turned into SVG path data in user units once per process (`outlines()`,
cached): a request only picks fills and writes the links around them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pyproj import Transformer

GEOJSON = "lancashire_districts.geojson"
MAP_WIDTH = 500  # user units across the districts themselves; the height follows their shape
MARGIN = 6
WEST_GUTTER = 80  # open sea at the left, where Blackpool's label goes
ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v3.0. "
    "Contains OS data © Crown copyright and database right 2022."
)

Ring = list[tuple[float, float]]
Polygon = list[Ring]  # the outer ring, then any holes

# Blackpool's strip of coast is too narrow for its name: its label sits out at sea, to its west.
LABELS_AT_SEA = frozenset({"E06000009"})


@dataclass(frozen=True, slots=True)
class Outline:
    """One district, ready to draw: its SVG path data and where its label goes."""

    code: str
    name: str
    path: str  # SVG path data: every ring of every polygon, holes included (fill-rule evenodd)
    label_x: float
    label_y: float
    label_lines: tuple[str, ...]
    label_anchor: str  # SVG text-anchor: "middle", or "end" for a label beside its district


@dataclass(frozen=True, slots=True)
class Outlines:
    """Every district's outline in name order, and the size of the drawing."""

    districts: tuple[Outline, ...]
    width: float
    height: float


@cache
def to_british_national_grid(source_crs: str = "EPSG:4326") -> Transformer:
    """Longitude, latitude (WGS84 unless said) -> British National Grid easting, northing (metres)."""
    # Imported here: every worker imports the templates' globals, and only the first map needs PROJ.
    from pyproj import Transformer

    return Transformer.from_crs(source_crs, "EPSG:27700", always_xy=True)


def _polygons(geometry: dict[str, object]) -> list[Polygon]:
    """A Polygon or MultiPolygon's polygons, each a list of rings of (longitude, latitude)."""
    kind, coordinates = geometry["type"], geometry["coordinates"]
    if kind == "Polygon":
        found = [coordinates]
    elif kind == "MultiPolygon":
        found = coordinates
    else:
        raise ValueError(f"a district's boundary must be a Polygon or MultiPolygon, not {kind}")
    return [[[(float(x), float(y)) for x, y, *_ in ring] for ring in polygon] for polygon in found]  # type: ignore[union-attr]


def _project(polygons: list[Polygon]) -> list[Polygon]:
    """Each ring's points in British National Grid metres."""
    transform = to_british_national_grid().transform
    projected = []
    for polygon in polygons:
        rings = []
        for ring in polygon:
            eastings, northings = transform([p[0] for p in ring], [p[1] for p in ring])
            rings.append(list(zip(eastings, northings, strict=True)))
        projected.append(rings)
    return projected


def _num(x: float) -> str:
    return f"{x:.1f}".removesuffix(".0")


def path_data(polygons: Sequence[Polygon]) -> str:
    """SVG path data for polygons already in user units: each ring a closed subpath."""
    parts = []
    for polygon in polygons:
        for ring in polygon:
            points = ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring
            head, *rest = points
            parts.append(f"M{_num(head[0])} {_num(head[1])}" + "".join(f"L{_num(x)} {_num(y)}" for x, y in rest) + "Z")
    return "".join(parts)


def _edges(polygon: Polygon) -> np.ndarray:
    """Every edge of every ring as rows of (x1, y1, x2, y2)."""
    rows = [(*a, *b) for ring in polygon for a, b in zip(ring, ring[1:] + ring[:1], strict=True)]
    return np.array(rows, dtype=float)


def _inside(points: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Which points are inside, by the even-odd rule over every ring (so a point in a hole is outside)."""
    x, y = points[:, :1], points[:, 1:]
    x1, y1, x2, y2 = edges.T
    crosses = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return (np.count_nonzero(crosses & (x < at), axis=1) % 2) == 1


def _distance_to_edges(points: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each point's distance to the nearest edge."""
    x, y = points[:, :1], points[:, 1:]
    x1, y1, x2, y2 = edges.T
    dx, dy = x2 - x1, y2 - y1
    length = np.where(dx * dx + dy * dy == 0, 1.0, dx * dx + dy * dy)
    t = np.clip(((x - x1) * dx + (y - y1) * dy) / length, 0.0, 1.0)
    return np.hypot(x - x1 - t * dx, y - y1 - t * dy).min(axis=1)


def label_point(polygon: Polygon, steps: int = 24) -> tuple[float, float]:
    """The polygon's pole of inaccessibility, by grid search: the inside point farthest from any edge.

    A centroid can fall outside a crescent-shaped district (Wyre, Lancaster); the point farthest
    from every edge is always inside and is where a label has most room. A 25 x 25 grid over the
    bounding box, then a finer one around the best point, is close enough for a label.
    """
    edges = _edges(polygon)
    outer = np.array(polygon[0], dtype=float)
    (x0, y0), (x1, y1) = outer.min(axis=0), outer.max(axis=0)
    best, best_at = -1.0, ((x0 + x1) / 2, (y0 + y1) / 2)
    for _round in range(2):
        gx, gy = np.meshgrid(np.linspace(x0, x1, steps + 1), np.linspace(y0, y1, steps + 1))
        points = np.column_stack([gx.ravel(), gy.ravel()])
        points = points[_inside(points, edges)]
        if len(points):
            distances = _distance_to_edges(points, edges)
            i = int(distances.argmax())
            if distances[i] > best:
                best, best_at = float(distances[i]), (float(points[i, 0]), float(points[i, 1]))
        dx, dy = (x1 - x0) / steps, (y1 - y0) / steps
        x0, x1, y0, y1 = best_at[0] - dx, best_at[0] + dx, best_at[1] - dy, best_at[1] + dy
    return best_at


def _area(ring: Ring) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True))) / 2


def label_lines(name: str, longest: int = 12) -> tuple[str, ...]:
    """The name on one line, or on two split at the space nearest its middle when it is long."""
    if len(name) <= longest or " " not in name:
        return (name,)
    spaces = [i for i, c in enumerate(name) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - len(name) / 2))
    return (name[:cut], name[cut + 1 :])


def read_boundaries() -> list[tuple[str, str, list[Polygon]]]:
    """(ONS code, name, polygons in WGS84) for each district in the shipped GeoJSON, in name order."""
    text = resources.files("talking.reference").joinpath(GEOJSON).read_text(encoding="utf-8")
    features = json.loads(text)["features"]
    found = [(f["properties"]["ons_code"], f["properties"]["name"], _polygons(f["geometry"])) for f in features]
    return sorted(found, key=lambda row: row[1])


@cache
def outlines() -> Outlines:
    """Every district projected and fitted to a drawing MAP_WIDTH units wide, north up (computed once)."""
    projected = [(code, name, _project(polygons)) for code, name, polygons in read_boundaries()]
    points = [p for _c, _n, polygons in projected for polygon in polygons for ring in polygon for p in ring]
    east0, east1 = min(p[0] for p in points), max(p[0] for p in points)
    north0, north1 = min(p[1] for p in points), max(p[1] for p in points)
    scale = (MAP_WIDTH - 2 * MARGIN) / (east1 - east0)  # the same in both directions: the grid is conformal
    height = (north1 - north0) * scale + 2 * MARGIN
    left = WEST_GUTTER + MARGIN

    def fit(polygon: Polygon) -> Polygon:  # SVG's y grows downwards: north is up
        return [[(left + (e - east0) * scale, MARGIN + (north1 - n) * scale) for e, n in ring] for ring in polygon]

    drawn = []
    for code, name, polygons in projected:
        fitted = [fit(polygon) for polygon in polygons]
        largest = max(fitted, key=lambda polygon: _area(polygon[0]))
        x, y = label_point(largest)
        anchor = "middle"
        if code in LABELS_AT_SEA:
            x, anchor = min(p[0] for p in largest[0]) - 4, "end"
        drawn.append(Outline(code, name, path_data(fitted), x, y, label_lines(name), anchor))
    return Outlines(tuple(drawn), float(WEST_GUTTER + MAP_WIDTH), round(height, 1))
