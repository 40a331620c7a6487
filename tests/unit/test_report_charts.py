"""The report charts as SVG strings: named for assistive technology, every word escaped, no inline style."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from talking.reports.charts import Bar, Interval, axis_top, bar_chart, dot_whisker

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script> & "quotes"'


def test_a_dot_and_whisker_chart_is_a_named_image_with_every_word_escaped() -> None:
    rows = [Interval(EVIL, 42.0, 38.5, 45.5, reference=30.0), Interval("Speeding", 20.0, 15.0, 25.0, reference=22.0)]
    svg = dot_whisker(rows, chart_id="c1", title=f"Scores {EVIL}", description=EVIL, reference_label="county score")
    root = ElementTree.fromstring(str(svg))  # well-formed XML, so nothing broke out of its element
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.get("width") == "100%" and root.get("viewBox").startswith("0 0 400 ")
    assert root.find(f"{SVG}title").text == f"Scores {EVIL}" and root.find(f"{SVG}desc").text == EVIL
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert EVIL in texts and "42.0" in texts and "county score" in texts
    assert "<script" not in str(svg) and "style=" not in str(svg)
    assert len(root.findall(f"{SVG}circle")) == 3  # the legend's and one per row


def test_bars_grow_with_their_values_on_a_shared_scale() -> None:
    svg = str(bar_chart([Bar("A", 80.0), Bar("B", 20.0), Bar("C", 0.0)], chart_id="b", title="t", description="d"))
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert widths[0] == 4 * widths[1] and widths[2] == 0
    assert axis_top([80.0]) == 80 and axis_top([3.0]) == 10 and axis_top([100.0]) == 100
