"""What the fast paths (surveys/fast_submit.py, surveys/fast_pages.py) share: sending as Litestar sends.

Litestar passes every message of every response through the app's ``before_send`` hooks (our
security headers, the SQLAlchemy plugin's autocommit); a response sent outside Litestar must too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import Message, Scope, Send


def send_with_hooks(app: Litestar, scope: Scope, send: Send) -> Send:
    """``send``, with each message first passed through the app's before_send hooks, in order."""
    hooks = app.before_send

    async def hooked(message: Message) -> None:
        for hook in hooks:
            await hook(message, scope)
        await send(message)

    return hooked
