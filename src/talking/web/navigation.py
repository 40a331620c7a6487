"""Where a page sends people next: Post/Redirect/Get, safe return addresses, one-off success messages."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.response import Redirect

_FLASH = "flash"
# A local path: one leading slash, no backslashes (browsers read "/\\host" as "//host"), no controls.
_LOCAL_PATH = re.compile(r"^/(?![/\\])[^\\\x00-\x1f\x7f]*$")


def see_other(url: str) -> Redirect:
    """Post/Redirect/Get: 303 to ``url``."""
    return Redirect(path=url, status_code=303)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if target and len(target) <= 2000 and _LOCAL_PATH.match(target):
        return target
    return None


def flash(request: Request[Any, Any, Any], message: str) -> None:
    """A success message for the next page shown to this session."""
    request.session[_FLASH] = message


def take_flash(request: Request[Any, Any, Any]) -> str | None:
    """The waiting success message, shown once."""
    return request.session.pop(_FLASH, None) if isinstance(request.session, dict) else None
