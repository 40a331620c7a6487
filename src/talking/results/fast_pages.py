"""The fast path for public results pages this worker already holds: sent without Litestar's layers.

Why: a results page held in the ResultsCache costs almost nothing to send, but Litestar's request
machinery around it (routing, the nonce, session, user and CSRF middlewares, the signature model,
the response object) was most of the ~300 us of CPU a page cost (benchmarks/results.py). This
ASGI wrapper answers a GET of ``/results``, ``/results/ID`` or ``/results/ID/CODE`` only when the
cache holds that very page at the current results stamp (the same lookup, same key, as
results/pages.py), with a fresh CSP nonce put in and the app's before_send hooks (the security
headers) applied, as Litestar would send it. Everything else, including every first request for
a page (which renders it and fills the cache), goes to Litestar unchanged, so the pages are
defined once, in results/pages.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from talking.asgi import send_with_hooks
from talking.params import MAX_ROW_ID
from talking.results.cache import NONCE_STAND_IN, ResultsCache
from talking.security import new_csp_nonce

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import ASGIApp, Receive, Scope, Send

ANSWERED_HERE = "talking.fast_results"  # marks a scope this path answered, for tests
_PREFIX = "/results"


def cache_key(path: str) -> tuple[object, ...] | None:
    """The ResultsCache key of a results page's path, or None when the path is not one of them."""
    if path == _PREFIX:
        return ("index",)
    if not path.startswith(_PREFIX + "/"):
        return None
    parts = path[len(_PREFIX) + 1 :].split("/")
    if not parts[0].isascii() or not parts[0].isdigit() or not 1 <= int(parts[0]) <= MAX_ROW_ID:
        return None
    survey_id = int(parts[0])
    if len(parts) == 1:
        return ("county", survey_id)
    if len(parts) == 2 and parts[1] and "." not in parts[1]:
        return ("district", survey_id, parts[1])
    return None


class FastResults:
    """ASGI app: send a held results page directly, pass everything else on to ``then``."""

    def __init__(self, app: Litestar, then: ASGIApp) -> None:
        self.app = app
        self.then = then
        self.cache: ResultsCache = app.state.results

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a held page, or hand the request on."""
        key = (
            cache_key(scope["path"])
            if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path")
            else None
        )
        html = await self.cache.held(key) if key is not None else None
        if not isinstance(html, str):
            return await self.then(scope, receive, send)
        nonce = new_csp_nonce()
        scope.setdefault("state", {})["csp_nonce"] = nonce  # type: ignore[typeddict-unknown-key]
        scope[ANSWERED_HERE] = True  # type: ignore[literal-required]
        body = html.replace(NONCE_STAND_IN, nonce).encode()
        hooked = send_with_hooks(self.app, scope, send)
        await hooked(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await hooked({"type": "http.response.body", "body": body, "more_body": False})
