"""The pack's pure parts: canonical JSON, differences between reports, recorded crime drawn without knowing
its shape, the crime months, and the licences read from reference/SOURCES.md."""

from __future__ import annotations

from talking.packs.document import canonical, differences
from talking.packs.licences import licences
from talking.packs.rendering import flat_tables
from talking.packs.service import crime_months_used


def test_canonical_json_sorts_keys_and_has_no_spaces() -> None:
    assert canonical({"b": [1, 0.1], "a": {"d": None, "c": "é"}}) == '{"a":{"c":"é","d":null},"b":[1,0.1]}'.encode()


def test_differences_name_each_changed_figure_and_ignore_the_survey_state() -> None:
    old = {"responses": 274, "survey": {"status": "open"}, "county": {"issues": [{"score": 41.2}, {"score": 30.0}]}}
    new = {"responses": 286, "survey": {"status": "closed"}, "county": {"issues": [{"score": 40.9}, {"score": 30.0}]}}
    assert differences(old, new) == ["county.issues.0.score: 41.2 -> 40.9", "responses: 274 -> 286"]
    assert differences(old, old) == []
    assert differences({"a": [1]}, {"a": [1, 2]}) == ["a: [1] -> [1,2]"]


def test_recorded_crime_is_drawn_as_tables_whatever_its_shape() -> None:
    crime = {
        "months": ["2026-01", "2026-02"],
        "districts": [{"code": "E07000123", "rate_per_1000": 12.345, "issues": [{"issue": "burglary", "n": 3}]}],
    }
    tables = flat_tables(crime)
    assert tables[0] == ("districts", ["code", "rate per 1000"], [["E07000123", "12.3"]])
    assert tables[1] == ("districts 1 issues", ["issue", "n"], [["burglary", "3"]])
    assert crime_months_used({"recorded_crime": crime}) == ["2026-01", "2026-02"]
    assert crime_months_used({}) == []


def test_every_data_file_has_its_licence() -> None:
    found = dict(licences())
    assert {"lancashire_areas.csv", "postcodes.csv", "lancashire_districts.geojson"} <= set(found)
    assert all(any("Open Government Licence v3.0" in line for line in lines) for lines in found.values())
