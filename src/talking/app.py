"""The application factory: assembly only, nothing happens at import time."""

from __future__ import annotations

import asyncio
import gc
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store

from talking import __version__, logs, retention
from talking.auth.admin import AdminPages
from talking.auth.middleware import ABSOLUTE_LIFETIME_SECONDS, PrincipalMiddleware, SessionConfig
from talking.auth.pages import StaffPages
from talking.crime.pages import CrimePages
from talking.db.engine import create_engine, immediate
from talking.health import healthz
from talking.invitations.api import InvitationController
from talking.invitations.pages import InvitationPages
from talking.mail.background import BackgroundSender
from talking.members.directory_pages import MemberDirectoryPages
from talking.members.join_pages import JoinPages
from talking.members.manage_pages import ManagePages
from talking.members.pages import MemberPages
from talking.members.unsubscribe_pages import UnsubscribePages
from talking.metrics import RequestMetrics
from talking.openapi import COMPONENTS, TruthfulJsonRenderPlugin
from talking.outages import throttle_library_outage_logs
from talking.packs.api import PackController, document_pack_formats
from talking.packs.pages import PackPages
from talking.packs.rendering import RenderedPacks
from talking.problems import handle_exception
from talking.questionnaires.api import QuestionnaireController
from talking.questionnaires.pages import QuestionnairePages
from talking.rate_limits import rate_limiter
from talking.reports.api import ReportController, document_report_formats
from talking.reports.html import standalone_context
from talking.reports.pages import ReportPages
from talking.reports.service import ReportCache, report_settings
from talking.results.api import ResultsController
from talking.results.cache import ResultsCache
from talking.results.fast_pages import FastResults
from talking.results.pages import ResultsPages
from talking.results.staff_pages import ResultsStaffPages
from talking.security import CspNonceMiddleware, security_headers
from talking.sessions import DatabaseStore
from talking.settings import Settings
from talking.surveys.about import AboutPages
from talking.surveys.api import ReferenceController, ResponseController, document_answer_rules
from talking.surveys.fast_pages import FastPages
from talking.surveys.fast_submit import FastSubmit
from talking.surveys.invited_pages import InvitedPages
from talking.surveys.pages import ResidentPages
from talking.surveys.preview import PreviewPages
from talking.surveys.services import SurveyCatalogue
from talking.surveys.writer import ResponseWriter
from talking.templating import template_config
from talking.web.assets import AssetFiles
from talking.web.request_bodies import MAX_BODY_BYTES, StrictRequest

# Built by scripts/build_assets.py from GOV.UK Frontend and our Sass; served at /assets/.
STATIC_DIR = Path(__file__).parent / "static"

# Paths that never need a session: the JSON API authenticates with bearer tokens; public results
# are the same for everyone (so each worker can remember them whole).
SESSIONLESS_PATHS = ["^/api/", "^/healthz$", "^/assets/", "^/schema", "^/results(/|$)"]


_APP_NUMBERS = itertools.count(1)


def session_store(settings: Settings, engine: object) -> Store:
    """Sessions in Redis when configured (fast, shared by every worker), else in our database."""
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(url=settings.redis_url).with_namespace("talking_sessions")
    return DatabaseStore(engine)  # type: ignore[arg-type]


def session_config(settings: Settings) -> SessionConfig:
    """Server-side session cookies: HttpOnly, SameSite=Lax, and Secure with __Host- over HTTPS."""
    return SessionConfig(
        key="__Host-talking_session" if settings.https else "talking_session",
        # The cookie outlives no staff session; a resident's progress lasts as long.
        max_age=ABSOLUTE_LIFETIME_SECONDS,
        secure=settings.https,
        httponly=True,
        samesite="lax",
        path="/",
        exclude=SESSIONLESS_PATHS,
    )


def create_app(settings: Settings | None = None, *, daily_jobs: bool = False) -> Litestar:
    """Build the Litestar app for these settings (read from the environment when not given).

    ``daily_jobs``: also run the daily retention (talking.retention) while serving; `talking serve`
    does, tests in-process do not.
    """
    settings = settings or Settings.from_env()
    throttle_library_outage_logs()  # asyncpg's and SQLAlchemy's pools log every failed connect
    engine = create_engine(settings.database_url)
    sessions = session_config(settings)
    catalogue = SurveyCatalogue(engine)
    writer = ResponseWriter(engine, max_batch=settings.max_batch)
    reports = ReportCache(engine, settings=report_settings(settings))
    store = session_store(settings, engine)
    limiter = rate_limiter(settings, engine)
    mail_sender = BackgroundSender(settings, engine)

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        # Everything built at start-up lives as long as the worker: keep the collector from
        # rescanning it, which showed up as tail latency (p99) under load.
        gc.collect()
        gc.freeze()
        await writer.start()
        jobs = [asyncio.create_task(retention.run_daily(engine, settings.retention_days))] if daily_jobs else []
        await mail_sender.start()
        try:
            async with store:  # Litestar's hook for a store to let go of what it holds (pool, file, client)
                yield
        finally:
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)  # let a run stopped mid-chunk roll back
            await mail_sender.stop()
            await writer.stop()
            await limiter.close()
            await engine.dispose()

    # advanced-alchemy keeps every config's state keys in class-wide sets and, for a taken key, tries
    # key_1, key_2 ... recursively: the ~950th app in one process (a long test run) hit the recursion
    # limit. Keys of this app's own are never taken, so nothing is searched.
    app_number = next(_APP_NUMBERS)
    sqlalchemy = SQLAlchemyAsyncConfig(
        session_scope_key=f"_sqlalchemy_db_session_{app_number}",
        engine_app_state_key=f"db_engine_{app_number}",
        session_maker_app_state_key=f"session_maker_class_{app_number}",
        # A request's session may write after reading: on SQLite it takes the write lock at BEGIN
        # (waiting its turn on the event loop) so that concurrent staff actions queue, never fail.
        engine_instance=immediate(engine),
        session_config=AsyncSessionConfig(expire_on_commit=False),
        before_send_handler="autocommit",
        create_all=False,
    )
    return Litestar(
        route_handlers=[
            healthz,
            ReferenceController,
            ResponseController,
            QuestionnaireController,
            InvitationController,
            ReportController,
            ReportPages,
            PackController,
            PackPages,
            ResidentPages,
            InvitedPages,
            AboutPages,
            StaffPages,
            AdminPages,
            QuestionnairePages,
            PreviewPages,
            MemberPages,
            MemberDirectoryPages,
            CrimePages,
            InvitationPages,
            create_static_files_router(
                path="/assets", directories=[STATIC_DIR], name="assets", file_system=AssetFiles()
            ),
            UnsubscribePages,
            ResultsController,
            ResultsPages,
            ResultsStaffPages,
            JoinPages,
            ManagePages,
        ],
        plugins=[SQLAlchemyPlugin(config=sqlalchemy)],
        state=State(
            {
                "settings": settings,
                "engine": engine,
                "catalogue": catalogue,
                "writer": writer,
                "reports": reports,
                "results": ResultsCache(engine),
                # Packs draw the report's partials, which are the report feature's page code: handed in here.
                "pack_partials": standalone_context,
                "pack_files": RenderedPacks(),
                "session_config": sessions,
                "rate_limiter": limiter,
            }
        ),
        lifespan=[lifespan],
        stores={"sessions": store},
        # Order matters: the session is loaded before we look in it for a signed-in user.
        middleware=[CspNonceMiddleware(), sessions.middleware, PrincipalMiddleware()],
        before_send=[security_headers(https=settings.https)],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="__Host-talking_csrf" if settings.https else "talking_csrf",
            cookie_secure=settings.https,
            cookie_httponly=True,
            # One-click unsubscribe (RFC 8058) comes from mail clients with no cookie: the URL is signed.
            exclude=["^/api/", "^/members/unsubscribe/"],
        ),
        template_config=template_config(),
        exception_handlers={Exception: handle_exception},
        # JSON only as application/json, no repeated keys; forms only as UTF-8 (web/request_bodies.py).
        request_class=StrictRequest,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="talking",
            version=__version__,
            description="Resident engagement surveys: top community issues by district.",
            path="/schema",
            # JSON only: the interactive viewers load scripts from third-party hosts.
            render_plugins=[
                TruthfulJsonRenderPlugin(
                    finishers=[document_answer_rules, document_report_formats, document_pack_formats]
                )
            ],
            components=COMPONENTS,
        ),
        debug=settings.debug,
    )


def create_asgi_app(settings: Settings | None = None) -> RequestMetrics:
    """What `talking serve` runs: the app, with the fast paths for residents in front.

    Submissions through the API and the pages of the resident journey are the routes under load;
    see surveys/fast_submit.py and surveys/fast_pages.py for why and what they reuse. Public results
    pages this worker already rendered are sent by results/fast_pages.py. Tests that
    drive the app in-process use create_app and so Litestar's handlers alone, except where they
    compare the two.
    """
    app = create_app(settings, daily_jobs=True)
    settings = app.state.settings
    logs.configure(settings.log_format)
    # Outermost, so that requests the fast paths answer are counted too (talking.metrics).
    return RequestMetrics(
        app,
        FastSubmit(app, then=FastResults(app, then=FastPages(app))),
        token=settings.metrics_token,
        access_log=settings.log_format == "json",
    )
