"""The public results pages, feeds and open data: no sign-in, no session, no JavaScript needed.

Every answer here is the same for everyone, so it is rendered once per change and kept in the
worker's ResultsCache (results/cache.py); only the CSP nonce is put in per response. Paths that
name nothing (a survey with no published results, a code that is not one of the 14 districts)
are 404 pages, and are not remembered, so made-up paths cannot fill the cache.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from talking.params import RowId
from talking.reference import districts_by_code
from talking.results.cache import NONCE_STAND_IN, ResultsCache
from talking.results.feeds import atom_feed
from talking.results.open_data import LICENCE_URL, figures_csv, figures_json
from talking.results.services import live_publications
from talking.results.views import Published, county_context, district_context, load_published
from talking.web.times import london_time

Req = Request[Any, Any, Any]
ATOM_TYPE = "application/atom+xml; charset=utf-8"
NOT_PUBLISHED = "No results are published for this survey"
LICENCE_LINK = {"Link": f'<{LICENCE_URL}>; rel="license"'}


def _cache(request: Req) -> ResultsCache:
    return request.app.state.results


def _render(request: Req, template: str, context: dict[str, Any]) -> str:
    """The page's HTML with the nonce stand-in (pages here carry no form, so no CSRF token)."""
    environment = request.app.template_engine.engine  # type: ignore[union-attr]
    return environment.get_template(template).render({**context, "request": None, "csp_nonce": NONCE_STAND_IN})


def _page(request: Req, html: str) -> Response[bytes]:
    nonce = request.scope.get("state", {}).get("csp_nonce", "")
    return Response(html.replace(NONCE_STAND_IN, nonce).encode(), media_type=MediaType.HTML)


async def _published(request: Req, survey_id: int) -> Published:
    """The survey's publication as this worker remembers it; 404 when none is live."""
    cache = _cache(request)

    async def load() -> Published | None:
        async with request.app.state.engine.connect() as conn:
            return await load_published(conn, survey_id)

    published = await cache.get(("published", survey_id), load)
    if published is None:
        raise NotFoundException(NOT_PUBLISHED)
    return published


class ResultsPages(Controller):
    """ "You said, we did": published results for residents and partners."""

    path = "/results"
    include_in_schema = False

    @get("/")
    async def index(self, request: Req) -> Response[bytes]:
        """Every survey whose results are published, newest first."""

        async def build() -> str:
            async with request.app.state.engine.connect() as conn:
                rows = await live_publications(conn)
            listed = [{**row._asdict(), "published_on": london_time(row.published_at)} for row in rows]
            return _render(request, "results/index.html", {"page_title": "Results: you said, we did", "listed": listed})

        return _page(request, await _cache(request).get(("index",), build))

    @get("/{survey_id:int}")
    async def county(self, request: Req, survey_id: RowId) -> Response[bytes]:
        """The county's story, the table of figures (and the map's place), districts, quotes and updates."""
        published = await _published(request, survey_id)

        async def build() -> str:
            return _render(request, "results/county.html", county_context(published))

        return _page(request, await _cache(request).get(("county", survey_id), build))

    @get("/{survey_id:int}/{code:str}")
    async def district(self, request: Req, survey_id: RowId, code: FromPath[str]) -> Response[bytes]:
        """A district's top issues against the county, or that it had too few answers to publish."""
        published = await _published(request, survey_id)
        district = published.district(code) if code in districts_by_code() else None
        if district is None:
            raise NotFoundException(f"{code} is not a district of these results")

        async def build() -> str:
            return _render(request, "results/district.html", district_context(published, district))

        return _page(request, await _cache(request).get(("district", survey_id, code), build))

    @get("/{survey_id:int}/feed.atom")
    async def feed(self, request: Req, survey_id: RowId) -> Response[bytes]:
        """Every "we did" update of the survey, as an Atom feed."""
        published = await _published(request, survey_id)

        async def build() -> bytes:
            return _feed(published, None)

        return Response(await _cache(request).get(("feed", survey_id), build), media_type=ATOM_TYPE)

    @get("/{survey_id:int}/{code:str}/feed.atom")
    async def district_feed(self, request: Req, survey_id: RowId, code: FromPath[str]) -> Response[bytes]:
        """A district's updates and the county-wide ones, as an Atom feed."""
        published = await _published(request, survey_id)
        if code not in districts_by_code() or published.district(code) is None:
            raise NotFoundException(f"{code} is not a district of these results")

        async def build() -> bytes:
            return _feed(published, code)

        return Response(await _cache(request).get(("feed", survey_id, code), build), media_type=ATOM_TYPE)

    @get("/{survey_id:int}/data.csv")
    async def data_csv(self, request: Req, survey_id: RowId) -> Response[bytes]:
        """The published figures, one row per area and issue (Open Government Licence)."""
        published = await _published(request, survey_id)

        async def build() -> bytes:
            return figures_csv(published.publication.figures)

        body = await _cache(request).get(("csv", survey_id), build)
        headers = {**LICENCE_LINK, "Content-Disposition": f'attachment; filename="results-{survey_id}.csv"'}
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)

    @get("/{survey_id:int}/data.json")
    async def data_json(self, request: Req, survey_id: RowId) -> Response[bytes]:
        """The published figures, the licence, the method in words and the approved quotes."""
        published = await _published(request, survey_id)

        async def build() -> bytes:
            return figures_json(published.publication.figures, published.quotes)

        return Response(
            await _cache(request).get(("json", survey_id), build), media_type=MediaType.JSON, headers=LICENCE_LINK
        )


def _feed(published: Published, code: str | None) -> bytes:
    p = published.publication
    names = published.area_names()
    updates = [u for u in published.updates if code is None or u.district_code in (None, code)]
    page = published.base if code is None else f"{published.base}/{code}"
    title = f"{p.figures.title}: what was done" + ("" if code is None else f" in {names[code]}")
    return atom_feed(
        p.figures,
        updates,
        self_path=f"{page}/feed.atom",
        page_path=page,
        issue_labels=published.issue_labels,
        area_names=names,
        published_at=p.published_at,
        title=title,
    )
