"""The unsubscribe link's pages: a one-click POST (RFC 8058: no cookie, no CSRF token) and a GET that asks first.

A GET never unsubscribes: mail scanners and link previews follow links. The POST needs no CSRF
token (app.py exempts the path) because the signed token in the URL is the proof: only the
member's own emails carry it.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from talking.members.manage import manage_url
from talking.members.unsubscribe import UNSUBSCRIBE_PATH, member_of_token, unsubscribe_member

Req = Request[Any, Any, Any]


def _member_or_404(request: Req, token: str) -> int:
    member_id = member_of_token(request.app.state.settings.secret_key, token)
    if member_id is None:
        raise NotFoundException()
    return member_id


class UnsubscribePages(Controller):
    """Leaving the resident panel from the link in an email."""

    include_in_schema = False

    @get(UNSUBSCRIBE_PATH + "{token:str}")
    async def confirm(self, request: Req, token: FromPath[str]) -> Template:
        """Ask before unsubscribing (a link followed is not a decision)."""
        _member_or_404(request, token)
        return Template("members/unsubscribe.html", context={"action": UNSUBSCRIBE_PATH + token})

    @post(UNSUBSCRIBE_PATH + "{token:str}", status_code=200)
    async def unsubscribe(
        self, request: Req, token: FromPath[str], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        """Unsubscribe at once, whatever the body (mail clients send List-Unsubscribe=One-Click)."""
        member_id = _member_or_404(request, token)
        await unsubscribe_member(db_session, member_id)
        # Their details stay until they delete them: the page says where (a relative link, fresh).
        details = manage_url("", request.app.state.settings.secret_key, member_id)
        return Template("members/unsubscribed.html", context={"manage_url": details})
