"""What the fast paths (surveys/fast_submit.py, surveys/fast_pages.py) share: sending as Litestar sends.

Litestar passes every message of every response through the app's ``before_send`` hooks (our
security headers, the SQLAlchemy plugin's autocommit); a response sent outside Litestar must too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar import Litestar, Request, Response
    from litestar.types import Message, Scope, Send, TypeEncodersMap


def send_with_hooks(app: Litestar, scope: Scope, send: Send) -> Send:
    """``send``, with each message first passed through the app's before_send hooks, in order."""
    hooks = app.before_send

    async def hooked(message: Message) -> None:
        for hook in hooks:
            await hook(message, scope)
        await send(message)

    return hooked


async def send_response(
    app: Litestar,
    request: Request[Any, Any, Any],
    response: Response[Any],
    send: Send,
    type_encoders: TypeEncodersMap | None = None,
) -> None:
    """Send a Litestar response (a refusal, an error page) as Litestar's exception middleware does."""
    answer = response.to_asgi_response(app=None, request=request, type_encoders=type_encoders)
    await answer(request.scope, request.receive, send_with_hooks(app, request.scope, send))
