"""Security headers on every page: a strict Content-Security-Policy with a per-request nonce.

Every script and style is served by us from /assets/; the one inline script in GOV.UK's page
template carries the nonce. The JSON API gets the plain headers without a CSP (it serves no HTML).
Nothing but /assets/ may be kept in a cache (no-store), and over HTTPS every answer carries HSTS.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Awaitable, Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


_BASE_HEADER_LIST = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in _BASE_HEADERS.items()]
_OURS = frozenset(name for name, _value in _BASE_HEADER_LIST)


# The policy for our HTML pages; only the nonce changes from one response to the next.
_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def content_security_policy(nonce: str) -> str:
    """The policy for our HTML pages."""
    return _CSP.format(nonce=nonce)


def new_csp_nonce() -> str:
    """A fresh nonce for one page response (every page path sets one, in scope["state"]["csp_nonce"])."""
    return random_token(16)


def random_token(n_bytes: int) -> str:
    """``secrets.token_urlsafe(n_bytes)``, drawn from a pool of the OS's random bytes."""
    return base64.urlsafe_b64encode(_random_pool.take(n_bytes)).rstrip(b"=").decode("ascii")


class _RandomPool:
    """Bytes from the OS's random source (what ``secrets`` reads), 4 KiB at a time.

    Every page needs a fresh nonce, and one system call per nonce was about 4% of a page's CPU
    under load (the call hands the interpreter lock to other threads and waits to get it back).
    A slice of a larger read is as unpredictable as a read of its own. A forked worker forgets
    its parent's bytes, and a lock keeps two threads from taking the same slice.
    """

    _SIZE = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bytes = b""
        self._taken = 0

    def take(self, n_bytes: int) -> bytes:
        with self._lock:
            if self._taken + n_bytes > len(self._bytes):
                self._bytes, self._taken = os.urandom(max(self._SIZE, n_bytes)), 0
            start, self._taken = self._taken, self._taken + n_bytes
            return self._bytes[start : self._taken]

    def forget(self) -> None:
        self._lock = threading.Lock()
        self._bytes, self._taken = b"", 0


_random_pool = _RandomPool()
os.register_at_fork(after_in_child=_random_pool.forget)


class CspNonceMiddleware(ASGIMiddleware):
    """Give each page request a fresh nonce in ``scope["state"]["csp_nonce"]`` for its templates."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Set the nonce (pages only) and carry on."""
        if not scope["path"].startswith("/api/"):
            scope.setdefault("state", {})["csp_nonce"] = new_csp_nonce()
        await next_app(scope, receive, send)


# Kept only under /assets/: everything else may carry a CSRF token, a resident's answers, a staff
# page or an export, which no browser or proxy cache should keep (a shared computer's back button).
_NO_STORE = (b"cache-control", b"no-store")
_UNCACHED_EXCEPT = ("/assets/",)
# Two years, subdomains included: what the HSTS preload list asks for.
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


def security_headers(*, https: bool) -> Callable[[Message, Scope], Awaitable[None]]:
    """The app's ``before_send`` hook: every response gets the headers; HTML gets the CSP.

    A hook rather than middleware, because Litestar answers unknown paths before any middleware runs.
    ``https``: also Strict-Transport-Security (only over HTTPS: browsers ignore it over HTTP, and
    it must not pin a plain-HTTP development server).
    """
    always = [*_BASE_HEADER_LIST, *([_HSTS] if https else [])]
    ours = _OURS | {_HSTS[0]} if https else _OURS
    ours_uncached = ours | {_NO_STORE[0]}

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        nonce = scope.get("state", {}).get("csp_nonce")
        headers = MutableScopeHeaders.from_message(message).headers
        uncached = not scope["path"].startswith(_UNCACHED_EXCEPT)
        if not nonce and _is_html(headers):
            # An HTML answer made outside the nonce middleware (Litestar's 404 for an unknown path,
            # a 405): it still gets the policy; with a nonce no script of its carries, none runs.
            nonce = new_csp_nonce()
        # One pass (Litestar's headers[name] = value scans the list once per header): drop any
        # earlier values of the headers we set, then add ours.
        dropped = (ours_uncached if uncached else ours) | ({b"content-security-policy"} if nonce else set())
        headers[:] = [header for header in headers if header[0].lower() not in dropped]
        headers.extend(always)
        if uncached:
            headers.append(_NO_STORE)
        if nonce:
            headers.append((b"content-security-policy", content_security_policy(nonce).encode("latin-1")))

    return add_security_headers


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a response's Content-Type is HTML."""
    return any(name.lower() == b"content-type" and value.startswith(b"text/html") for name, value in headers)
