"""Pages every public service owes its users: how we use their answers, and how accessible we are."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.response import Template


class AboutPages(Controller):
    """The privacy notice and the accessibility statement, linked from every page's footer."""

    include_in_schema = False

    @get("/privacy", name="privacy")
    async def privacy(self, request: Request) -> Template:
        """What we collect, why, who sees it, how long we keep it; the cookies we set."""
        return Template("about/privacy.html", context={"retention_days": request.app.state.settings.retention_days})

    @get("/accessibility", name="accessibility")
    async def accessibility(self) -> Template:
        """The accessibility statement."""
        return Template("about/accessibility.html")
