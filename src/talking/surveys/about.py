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
        settings = request.app.state.settings
        context = {"retention_days": settings.retention_days, "mail_retention_days": settings.mail_retention_days}
        return Template("about/privacy.html", context=context)

    @get("/accessibility", name="accessibility")
    async def accessibility(self) -> Template:
        """The accessibility statement."""
        return Template("about/accessibility.html")
