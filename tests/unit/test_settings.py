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


def test_links_in_emails_use_the_base_url_or_where_the_server_listens() -> None:
    env = {"TALKING_SECRET_KEY": "k"}
    assert Settings.from_env(env).base_url == "http://127.0.0.1:8000"
    assert (
        Settings.from_env(env | {"TALKING_HOST": "0.0.0.0", "TALKING_PORT": "9000"}).base_url == "http://0.0.0.0:9000"
    )
    set_url = env | {"TALKING_BASE_URL": "https://talking.lancashire.gov.uk/"}
    assert Settings.from_env(set_url).base_url == "https://talking.lancashire.gov.uk"


@pytest.mark.parametrize(
    "bad", ["talking.example", "ftp://talking.example", "https://talking.example/?x=1", "https://a b"]
)
def test_a_bad_base_url_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match="TALKING_BASE_URL"):
        Settings.from_env({"TALKING_SECRET_KEY": "k", "TALKING_BASE_URL": bad})
