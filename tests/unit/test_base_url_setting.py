"""TALKING_BASE_URL: the start of every link in an email, checked when read; this server's address when unset."""

from __future__ import annotations

import pytest

from talking.settings import Settings


def test_links_start_with_the_base_url_or_this_server() -> None:
    env = {"TALKING_SECRET_KEY": "k"}
    assert Settings.from_env(env).public_url == "http://127.0.0.1:8000"
    assert Settings.from_env({**env, "TALKING_PORT": "9000", "TALKING_HTTPS": "true"}).public_url == (
        "https://127.0.0.1:9000"
    )
    given = Settings.from_env({**env, "TALKING_BASE_URL": " https://talking.lancashire.gov.uk/ "})
    assert given.public_url == "https://talking.lancashire.gov.uk"


@pytest.mark.parametrize(
    "value",
    ["talking.lancashire.gov.uk", "ftp://talking.example", "https://talking.example/path", "https://a b.example"],
)
def test_a_base_url_that_would_make_broken_links_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="TALKING_BASE_URL must look like https://"):
        Settings.from_env({"TALKING_SECRET_KEY": "k", "TALKING_BASE_URL": value})
