"""Reading staff pages and posting their forms through the real app, as a browser would."""

from __future__ import annotations

import re
from html import unescape

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ..conftest import STAFF_PASSWORD

Client = AsyncTestClient[Litestar]
SESSION_COOKIE = "talking_session"
GENERIC_REFUSAL = "Enter a correct email address and password."


def title(html: str) -> str:
    """The page's <title>, whitespace collapsed."""
    found = re.search(r"<title[^>]*>(.*?)</title>", html, re.S)
    assert found, "page has no <title>"
    return " ".join(unescape(found.group(1)).split())


def h1s(html: str) -> list[str]:
    """The text of every <h1>."""
    return [
        " ".join(unescape(re.sub(r"<[^>]+>", "", m)).split()) for m in re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    ]


def error_summary(html: str) -> list[tuple[str, str]]:
    """(href, message) for each link in the "There is a problem" summary."""
    found = re.search(r'<div class="govuk-error-summary".*?</ul>', html, re.S)
    if not found:
        return []
    assert "There is a problem" in found.group(0)
    return [
        (unescape(href), " ".join(unescape(text).split()))
        for href, text in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', found.group(0), re.S)
    ]


def text_of(html: str) -> str:
    """The page's visible-ish text, tags dropped and whitespace collapsed."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def csrf_from(html: str) -> str:
    """The CSRF token in a page's form."""
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found, "page has no form with a CSRF token"
    return found.group(1)


async def submit(client: Client, page: str, action: str, data: dict[str, object]) -> httpx.Response:
    """Open ``page``, take the CSRF token from its form, and POST ``data`` to ``action`` (no redirects followed)."""
    shown = await client.get(page)
    assert shown.status_code == 200, (page, shown.status_code)
    return await client.post(action, data={"_csrf_token": csrf_from(shown.text), **data}, follow_redirects=False)


async def sign_in(
    client: Client, email: str, password: str = STAFF_PASSWORD, *, next_url: str | None = None
) -> httpx.Response:
    """Sign in through the real form; returns the POST's response (303 on success, 422 if refused)."""
    page = "/sign-in" + (f"?next={next_url}" if next_url else "")
    shown = await client.get(page)
    assert shown.status_code == 200
    data = {"_csrf_token": csrf_from(shown.text), "email": email, "password": password}
    if found := re.search(r'name="next" value="([^"]*)"', shown.text):
        data["next"] = unescape(found.group(1))
    return await client.post("/sign-in", data=data, follow_redirects=False)


async def sign_out(client: Client) -> httpx.Response:
    """Press "Sign out" in the header of the account page."""
    return await submit(client, "/account", "/sign-out", {})
