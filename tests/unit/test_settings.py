"""Settings from the environment: defaults, and clear errors for bad values."""

from __future__ import annotations

import pytest

from talking.settings import Settings


def test_the_suppression_threshold_defaults_to_ten_and_can_be_set() -> None:
    assert Settings.from_env({"TALKING_SECRET_KEY": "k"}).report_min_cell == 10
    assert Settings.from_env({"TALKING_SECRET_KEY": "k", "TALKING_REPORT_MIN_CELL": "25"}).report_min_cell == 25


@pytest.mark.parametrize("bad", ["0", "-3", "ten", ""])
def test_a_bad_suppression_threshold_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match="TALKING_REPORT_MIN_CELL"):
        Settings.from_env({"TALKING_SECRET_KEY": "k", "TALKING_REPORT_MIN_CELL": bad})
