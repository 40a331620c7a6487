"""The district maps (talking.maps): the projection against Ordnance Survey's published figures, the
colour scheme's lightness (also as people with each kind of colour blindness see it), the classes, and
the SVG parsed as XML: 14 shapes, 14 links, names, values, holes and escaping."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET

import pytest

from talking.maps import ATTRIBUTION, district_map, outlines
from talking.maps.boundaries import (
    MAP_WIDTH,
    MARGIN,
    label_lines,
    label_point,
    path_data,
    read_boundaries,
    to_british_national_grid,
)
from talking.maps.shading import SCHEME, class_of, classify, lightness, relative_luminance

SVG = "{http://www.w3.org/2000/svg}"
CODES = [o.code for o in outlines().districts]


def dms(degrees: int, minutes: int, seconds: float) -> float:
    return degrees + minutes / 60 + seconds / 3600


# --- projection --------------------------------------------------------------------------------------


def test_the_projection_is_the_national_grid_of_the_ordnance_survey_worked_example() -> None:
    """OS, "A guide to coordinate systems in Great Britain", Annex C: Airy 1830 latitude and longitude
    of Caister water tower -> E 651409.903, N 313177.270 (the Transverse Mercator itself, to the mm)."""
    transform = to_british_national_grid("EPSG:4277").transform  # OSGB36 latitude and longitude
    easting, northing = transform(dms(1, 43, 4.5177), dms(52, 39, 27.2531))
    assert easting == pytest.approx(651409.903, abs=0.001)
    assert northing == pytest.approx(313177.270, abs=0.001)


def test_a_gps_position_lands_within_a_few_metres_of_its_national_grid_reference() -> None:
    """The same tower's ETRS89 (GPS) position; OSTN15 puts it at E 651409.792, N 313177.448. Without the
    OSTN15 grid PROJ uses the 7-parameter Helmert shift, good to about 3.5 m: far below the boundaries'
    200 m generalisation."""
    easting, northing = to_british_national_grid().transform(1.716073973, 52.658007833)
    assert math.hypot(easting - 651409.792, northing - 313177.448) < 4.0


def test_every_district_is_drawn_north_up_at_one_scale() -> None:
    drawn = outlines()
    assert [o.name for o in drawn.districts] == sorted(o.name for o in drawn.districts)
    assert len(drawn.districts) == 14 and len({o.code for o in drawn.districts}) == 14
    # The drawing's shape is the grid's: same scale across and down (a raw lon/lat plot would be 1.7x too wide).
    transform = to_british_national_grid().transform
    points = [p for _c, _n, polygons in read_boundaries() for polygon in polygons for ring in polygon for p in ring]
    eastings, northings = transform([p[0] for p in points], [p[1] for p in points])
    grid_ratio = (max(northings) - min(northings)) / (max(eastings) - min(eastings))
    assert (drawn.height - 2 * MARGIN) / (MAP_WIDTH - 2 * MARGIN) == pytest.approx(grid_ratio, rel=0.001)
    lancaster = next(o for o in drawn.districts if o.name == "Lancaster")
    assert lancaster.path.count("M") == 4  # a MultiPolygon: the mainland and three islands
    blackpool = next(o for o in drawn.districts if o.name == "Blackpool")
    assert blackpool.label_anchor == "end" and blackpool.label_x < 80 + 6 + 30  # out at sea, to its west


def test_a_hole_is_drawn_as_a_hole_and_never_gets_the_label() -> None:
    outer = [(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0), (0.0, 0.0)]
    hole = [(30.0, 30.0), (70.0, 30.0), (70.0, 70.0), (30.0, 70.0), (30.0, 30.0)]
    assert path_data([[outer, hole]]) == "M0 0L100 0L100 100L0 100ZM30 30L70 30L70 70L30 70Z"
    x, y = label_point([outer, hole])
    assert not (30 < x < 70 and 30 < y < 70)
    assert label_point([outer]) == pytest.approx((50, 50), abs=2)


def test_long_names_go_on_two_lines() -> None:
    assert label_lines("Preston") == ("Preston",)
    assert label_lines("Blackburn with Darwen") == ("Blackburn", "with Darwen")
    assert label_lines("West Lancashire") == ("West", "Lancashire")


# --- colours and classes -------------------------------------------------------------------------------

# Machado, Oliveira and Fernandes (2009), full severity, applied to linear RGB.
SIMULATIONS = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}


def _seen_as(colour: str, matrix: tuple[tuple[float, ...], ...]) -> str:
    def linear(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    def encoded(v: float) -> int:
        v = min(1.0, max(0.0, v))
        return round(255 * (12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055))

    rgb = [linear(int(colour[i : i + 2], 16)) for i in (1, 3, 5)]
    return "#" + "".join(f"{encoded(sum(m * c for m, c in zip(row, rgb, strict=True))):02x}" for row in matrix)


def test_the_scheme_darkens_steadily_so_it_reads_in_greyscale() -> None:
    greys = [lightness(c) for c in SCHEME]
    assert all(a - b >= 15 for a, b in itertools.pairwise(greys)), greys  # more is darker, clearly each step
    assert lightness("#ffffff") - greys[0] >= 8  # the patterns' white ground is lighter than any class


@pytest.mark.parametrize("kind", sorted(SIMULATIONS))
def test_the_scheme_keeps_its_order_for_colour_blind_readers(kind: str) -> None:
    seen = [lightness(_seen_as(c, SIMULATIONS[kind])) for c in SCHEME]
    assert all(a - b >= 10 for a, b in itertools.pairwise(seen)), (kind, seen)


def test_lightness_and_luminance_of_known_colours() -> None:
    assert lightness("#ffffff") == pytest.approx(100, abs=0.01) and lightness("#000000") == 0
    assert lightness("#777777") == pytest.approx(50.0, abs=0.5)
    assert relative_luminance("#0b0c0c") < 0.01


def test_classes_are_round_steps_that_cover_every_value() -> None:
    values = [12.3, 19.7, 24.9, 31.0, 47.2, 55.5]
    found = classify(values)
    assert [(c.low, c.high) for c in found] == [(10, 20), (20, 30), (30, 40), (40, 50), (50, 60)]
    assert [c.fill for c in found] == list(SCHEME)
    assert [class_of(v, found).index for v in values] == [0, 0, 1, 2, 3, 4]
    assert class_of(20.0, found).index == 1 and class_of(60.0, found).index == 4  # "to under", the last "to"


def test_fewer_classes_spread_over_the_scheme_and_still_darken() -> None:
    found = classify([21.0, 22.5, 24.0])
    assert 1 < len(found) <= 5
    shades = [lightness(c.fill) for c in found]
    assert shades == sorted(shades, reverse=True) and len(set(shades)) == len(shades)
    assert found[0].fill == SCHEME[0] and found[-1].fill == SCHEME[-1]
    only = classify([33.3, 33.3])
    assert len(only) == 1 and class_of(33.3, only) is only[0]
    assert classify([]) == []
    with pytest.raises(ValueError):
        classify([1.0], classes=9)


@pytest.mark.parametrize("values", [[0.0, 100.0], [0.01, 0.02], [1e6, 3e6], [-5.0, 5.0], [7.0, 7.000001]])
def test_every_value_falls_in_a_class_of_at_most_five(values: list[float]) -> None:
    found = classify(values)
    assert 1 <= len(found) <= 5
    for v in values:
        assert class_of(v, found).holds(v)


# --- the SVG -----------------------------------------------------------------------------------------------


def _map(**options: object) -> tuple[ET.Element, object]:
    values = options.pop("values", {code: 10.0 + 3.1 * i for i, code in enumerate(CODES)})
    arguments = {
        "caption": "Priority score in each district: Burglary",
        "legend_title": "Priority score",
        "units": "out of 100",
        "links": {code: f"/districts/{code}?a=1&b=2" for code in CODES},
        **options,
    }
    drawn = district_map("test-map", values, **arguments)  # type: ignore[arg-type]
    return ET.fromstring(str(drawn.svg)), drawn


def test_the_svg_has_a_named_link_and_shape_per_district() -> None:
    svg, drawn = _map()
    links = list(svg.iter(f"{SVG}a"))
    assert len(links) == 14 and len(list(svg.iter(f"{SVG}path"))) == 14
    assert {a.get("href") for a in links} == {f"/districts/{code}?a=1&b=2" for code in CODES}  # & escaped, parsed
    names = [a.get("aria-label") for a in links]
    assert names[0] == "Blackburn with Darwen: 10.0, out of 100"
    assert names[-1] == f"Wyre: {10 + 3.1 * 13:.1f}, out of 100"
    assert svg.get("role") == "group" and svg.find(f"{SVG}title").text == "Priority score in each district: Burglary"
    assert "Map of the 14 districts of Lancashire" in svg.find(f"{SVG}desc").text
    label_text = " ".join(t.text or "" for t in svg.iter(f"{SVG}tspan"))
    assert "Preston" in label_text and "Ribble" in label_text and "50.3" in label_text
    fills = {a.find(f"{SVG}path").get("fill") for a in links}
    assert fills == set(SCHEME)  # values spread over five classes
    assert [row.name for row in drawn.rows] == [o.name for o in outlines().districts]
    assert drawn.attribution == ATTRIBUTION and "Contains OS data" in ATTRIBUTION
    assert " style=" not in str(drawn.svg)


def test_suppressed_and_missing_districts_show_no_figure_and_say_why() -> None:
    values = {code: 40.0 for code in CODES[:10]}
    svg, drawn = _map(values=values, suppressed={CODES[0]: "fewer than 10 answers"}, no_data="no answers")
    paths = {a.get("aria-label").split(":")[0]: a.find(f"{SVG}path") for a in svg.iter(f"{SVG}a")}
    assert paths["Blackburn with Darwen"].get("fill") == "url(#test-map-hatch)"
    assert paths["Wyre"].get("fill") == "url(#test-map-dots)"
    rows = {row.name: row for row in drawn.rows}
    assert rows["Blackburn with Darwen"].value == "suppressed (fewer than 10 answers)"
    assert rows["Wyre"].value == "no answers" and rows["Wyre"].state == "no-data"
    words = [entry.words for entry in drawn.legend]
    assert words == ["40.0", "Hatched: suppressed (too few answers to show)", "Dotted: no answers"]
    pattern_ids = {p.get("id") for p in svg.iter(f"{SVG}pattern")}
    assert pattern_ids == {"test-map-hatch", "test-map-dots"}
    legend_ids = [p.get("id") for e in drawn.legend for p in ET.fromstring(str(e.swatch)).iter(f"{SVG}pattern")]
    assert len(legend_ids) == len(set(legend_ids)) == 4  # every id on the page once


def test_every_word_is_escaped_and_the_svg_stays_well_formed() -> None:
    svg, drawn = _map(
        caption='<script>alert("x")</script> & more',
        labels={CODES[0]: "Anti-social <b>behaviour</b>"},
        links={CODES[0]: 'javascript:"><x'},
    )
    assert svg.find(f"{SVG}title").text == '<script>alert("x")</script> & more'
    assert "<script>" not in str(drawn.svg) and "<b>" not in str(drawn.svg)
    first = next(svg.iter(f"{SVG}a"))
    assert first.get("aria-label") == "Blackburn with Darwen: Anti-social <b>behaviour</b>, out of 100"
    assert len(list(svg.iter(f"{SVG}a"))) == 1  # only districts given a link are links
    assert len([g for g in svg.iter(f"{SVG}g") if g.get("role") == "img"]) == 13


@pytest.mark.parametrize("map_id", ["", "Map", "a b", 'x"y', "1map", "m" * 60])
def test_a_map_id_must_be_safe_for_html_ids(map_id: str) -> None:
    with pytest.raises(ValueError):
        district_map(map_id, {}, caption="c", legend_title="t", units="u")


def test_figures_that_are_not_numbers_are_no_data_and_unknown_codes_are_ignored() -> None:
    values = {CODES[0]: math.nan, CODES[1]: math.inf, CODES[2]: 12.5, "E99999999": 99.0}
    _svg, drawn = _map(values=values)
    states = [row.state for row in drawn.rows]
    assert states[:3] == ["no-data", "no-data", "value"] and states.count("value") == 1
    assert [entry.words for entry in drawn.legend] == ["12.5", "Dotted: no data"]


def test_a_note_goes_beside_the_figure_in_the_table_and_the_link_not_on_the_drawing() -> None:
    notes = {CODES[0]: "small base, under 30: read with care", CODES[1]: "ignored"}
    svg, drawn = _map(notes=notes, suppressed={CODES[1]: "x"})
    first = next(svg.iter(f"{SVG}a"))
    assert first.get("aria-label") == "Blackburn with Darwen: 10.0, out of 100 (small base, under 30: read with care)"
    assert drawn.rows[0].value == "10.0" and drawn.rows[0].note == "small base, under 30: read with care"
    assert drawn.rows[1].note is None  # a suppressed district has no figure to caution about
    assert "read with care" not in " ".join(t.text or "" for t in svg.iter(f"{SVG}tspan"))
