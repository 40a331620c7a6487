"""Walking the resident panel's join pages as a browser would, and reading the emails they cause."""

from __future__ import annotations

import asyncio
import re
from email.message import EmailMessage

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import members

from .mail_helpers import Inbox
from .staff_helpers import Client, csrf_from, submit

BASE_URL = "https://talking.example"  # the settings' TALKING_BASE_URL in these tests
SECRET = "test-secret-key"


async def walk_to_check(
    client: Client,
    email: str,
    *,
    postcode: str = "",
    district: str = "",
    age_band: str | None = None,
    sex: str | None = None,
) -> None:
    """Answer every join page up to "check your answers"; each answer must be taken (303)."""
    assert (await client.get("/join")).status_code == 200
    steps: list[tuple[str, dict[str, object]]] = [
        ("/join/email", {"email": email}),
        ("/join/where-you-live", {"postcode": postcode, **({"district": district} if district else {})}),
        ("/join/about-you", {k: v for k, v in (("age_band", age_band), ("sex", sex)) if v}),
        ("/join/consent", {"consent": "2026-12-06"}),
    ]
    for page, data in steps:
        response = await submit(client, page, page, data)
        assert response.status_code == 303, (page, response.status_code, response.text[-2000:])


async def send_join(client: Client) -> httpx.Response:
    """Press "Join the panel" on the check page (no redirects followed)."""
    shown = await client.get("/join/check")
    assert shown.status_code == 200, shown.status_code
    return await client.post("/join/check", data={"_csrf_token": csrf_from(shown.text)}, follow_redirects=False)


async def join_through_pages(client: Client, email: str, **answers: str | None) -> httpx.Response:
    """The whole join, up to the "check your email" page (returned)."""
    await walk_to_check(client, email, **answers)  # type: ignore[arg-type]
    sent = await send_join(client)
    assert sent.status_code == 303 and sent.headers["location"] == "/join/check-your-email", sent.status_code
    return await client.get("/join/check-your-email")


async def wait_for_mail(inbox: Inbox, count: int, seconds: float = 20.0) -> list[EmailMessage]:
    """The inbox's messages once it holds ``count`` (the app's own sender delivers them)."""
    for _ in range(int(seconds / 0.05)):
        with inbox.lock:
            if len(inbox.messages) >= count:
                return list(inbox.messages)
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} emails, got {len(inbox.messages)}")


def text_part(message: EmailMessage) -> str:
    """The plain-text part of an email."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_part(message: EmailMessage) -> str:
    """The HTML part of an email."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def links_in(message: EmailMessage) -> list[str]:
    """Every link in the email's text, as paths on our site (the base URL taken off)."""
    return [url.removeprefix(BASE_URL) for url in re.findall(r"https?://\S+", text_part(message))]


def link_to(message: EmailMessage, prefix: str) -> str:
    """The one link in the email whose path starts with ``prefix``."""
    found = [link for link in links_in(message) if link.startswith(prefix)]
    assert len(found) == 1, (prefix, links_in(message))
    return found[0]


async def member_rows(engine: AsyncEngine) -> list[dict[str, object]]:
    """Every member, as a dict of its columns, by id."""
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(select(members).order_by(members.c.id))]
