"""Who a rate limit counts: the peer, an address behind listed proxies only, a token by its id; and bad settings."""

from __future__ import annotations

import pytest

from talking.principal import Principal
from talking.rate_limits import client_address, client_key, parse_limits, trusted_networks
from talking.settings import Settings

PROXIES = trusted_networks(["10.0.0.0/8", "192.0.2.7"])


def scope(peer: str, *forwarded: str, user: object = None) -> dict[str, object]:
    """An HTTP scope from ``peer`` with these X-Forwarded-For headers, as granian gives them."""
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return {"client": (peer, 50000), "headers": headers, "user": user}


def test_without_listed_proxies_the_header_is_never_believed() -> None:
    assert client_address(scope("198.51.100.4", "203.0.113.9"), ()) == "198.51.100.4"


def test_a_peer_that_is_not_a_listed_proxy_cannot_choose_its_address() -> None:
    assert client_address(scope("198.51.100.4", "203.0.113.9"), PROXIES) == "198.51.100.4"


def test_behind_listed_proxies_the_right_most_address_they_did_not_add_is_the_client() -> None:
    # The client wrote "1.1.1.1" itself; the first proxy appended what it saw (203.0.113.9), the
    # second proxy (10.0.0.5) appended the first's address, and the peer is the second proxy.
    assert client_address(scope("10.0.0.9", "1.1.1.1, 203.0.113.9, 10.0.0.5"), PROXIES) == "203.0.113.9"
    assert client_address(scope("192.0.2.7", "1.1.1.1", "203.0.113.9"), PROXIES) == "203.0.113.9"


def test_a_listed_proxy_without_the_header_is_the_client() -> None:
    assert client_address(scope("10.0.0.9"), PROXIES) == "10.0.0.9"
    assert client_address(scope("10.0.0.9", "10.0.0.1, 10.0.0.2"), PROXIES) == "10.0.0.1"


def test_garbage_in_the_header_is_one_bucket_not_an_error() -> None:
    assert client_address(scope("10.0.0.9", "not-an-address"), PROXIES) == "not-an-address"
    assert client_address({"client": None, "headers": []}, PROXIES) == "unknown"


def test_ipv6_counts_by_its_64_which_a_household_holds() -> None:
    first = client_address(scope("2001:db8:1:2::1"), ())
    assert first == client_address(scope("2001:db8:1:2:ffff::9"), ()) == "2001:db8:1:2::/64"
    assert client_address(scope("2001:db8:1:3::1"), ()) != first
    assert client_address(scope("::ffff:203.0.113.9"), ()) == "203.0.113.9"


def test_a_staff_token_is_counted_by_its_id_not_its_address() -> None:
    token = Principal(user_id=1, email="a@x.test", role="staff", via="token", token_id=7)
    signed_in = Principal(user_id=1, email="a@x.test", role="staff", via="session")
    assert client_key(scope("198.51.100.4", user=token), ()) == "token:7"
    assert client_key(scope("198.51.100.4", user=signed_in), ()) == "198.51.100.4"


def test_settings_read_the_limits_and_proxies() -> None:
    settings = Settings.from_env(
        {
            "TALKING_SECRET_KEY": "k",
            "TALKING_RATE_LIMITS": "off",
            "TALKING_RATE_LIMIT_SUBMIT": "5/second",
            "TALKING_TRUSTED_PROXIES": " 10.0.0.0/8 , 192.0.2.7 ",
        }
    )
    assert not settings.rate_limits
    assert settings.rate_limit_submit == "5/second"
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.0.2.7")
    assert Settings.from_env({"TALKING_SECRET_KEY": "k"}).rate_limits  # on by default


@pytest.mark.parametrize("value", ["maybe", "", "2"])
def test_an_unclear_on_off_switch_is_a_clear_error(value: str) -> None:
    with pytest.raises(ValueError, match="TALKING_RATE_LIMITS must be on or off"):
        Settings.from_env({"TALKING_SECRET_KEY": "k", "TALKING_RATE_LIMITS": value})


@pytest.mark.parametrize("value", ["lots", "60", "60/fortnight", "-1/minute"])
def test_unreadable_limits_are_a_clear_error(value: str) -> None:
    with pytest.raises(ValueError, match="TALKING_RATE_LIMIT_SUBMIT must be limits"):
        parse_limits(value, "TALKING_RATE_LIMIT_SUBMIT")


def test_an_unreadable_proxy_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"TALKING_TRUSTED_PROXIES: 'proxy\.internal'"):
        trusted_networks(["10.0.0.1", "proxy.internal"])
