"""Joining the resident panel: one question per page, the answers kept in the web session, no JavaScript.

/join (what the panel is) -> email -> where you live -> about you (optional) -> consent -> check your
answers -> "check your email". The last POST is rate-limited (JOIN) and stores the member with the
email in one transaction (join.py); the page it leads to is the same whoever the address belongs to.
The link in the email opens /join/confirm/{token}: a GET only shows a Confirm button (mail scanners
follow links), the POST confirms.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from talking.members import join
from talking.members.join import JoinAnswers, LinkState
from talking.members.manage import manage_url
from talking.rate_limits import JOIN
from talking.reference import AGE_BANDS, SEXES, districts, districts_by_code
from talking.web.forms import form_text
from talking.web.navigation import see_other
from talking.web.where_you_live import where_you_live

Req = Request[Any, Any, Any]
JOIN_PATH = "/join"
# The order of the questions; each page needs the ones before it answered.
PAGES = ("email", "where-you-live", "about-you", "consent")
_PROGRESS = "join"  # the session's answers so far
_SENT = "join_sent"  # the address the last join went to, for the "check your email" page


def _progress(request: Req) -> dict[str, Any]:
    kept = request.session.get(_PROGRESS) if isinstance(request.session, dict) else None
    return dict(kept) if isinstance(kept, dict) else {}


def _answered(progress: dict[str, Any], page: str) -> bool:
    return {
        "email": bool(progress.get("email")),
        "where-you-live": bool(progress.get("district")),
        "about-you": bool(progress.get("about_done")),
        "consent": bool(progress.get("consent")),
    }[page]


def _first_unanswered(progress: dict[str, Any]) -> str:
    return next((page for page in PAGES if not _answered(progress, page)), "check")


def _url(page: str, *, change: bool = False) -> str:
    return f"{JOIN_PATH}/{page}" + ("?change=yes" if change else "")


def _label(choices: Any, code: str | None) -> str | None:
    return next((choice.label for choice in choices if choice.code == code), None)


class JoinPages(Controller):
    """The join pages and the confirmation link."""

    include_in_schema = False

    @staticmethod
    def _visit(request: Req, page: str) -> dict[str, Any] | Redirect:
        """The answers so far; a page visited before those it depends on sends the resident to the first gap."""
        progress = _progress(request)
        first = _first_unanswered(progress)
        order = (*PAGES, "check")
        return progress if order.index(page) <= order.index(first) else see_other(_url(first))

    @staticmethod
    def _page(request: Req, page: str, template: str, errors: dict[str, str] | None = None, **context: Any) -> Template:
        change = request.query_params.get("change") == "yes"
        previous = "" if page == PAGES[0] else PAGES[PAGES.index(page) - 1]
        return Template(
            f"members/join/{template}.html",
            context={
                "errors": errors or {},
                "form_action": _url(page, change=change),
                "back_url": _url("check") if change else (_url(previous) if previous else JOIN_PATH),
                **context,
            },
            status_code=422 if errors else 200,
            headers={"Cache-Control": "no-store"},
        )

    @staticmethod
    def _onward(request: Req, page: str, progress: dict[str, Any]) -> Redirect:
        request.session[_PROGRESS] = progress
        if request.query_params.get("change") == "yes" or page == PAGES[-1]:
            return see_other(_url(_first_unanswered(progress)))
        return see_other(_url(PAGES[PAGES.index(page) + 1]))

    @get(JOIN_PATH)
    async def start(self) -> Template:
        """What the panel is, and a button to start."""
        return Template("members/join/start.html", context={"start_url": _url(PAGES[0])})

    @get(f"{JOIN_PATH}/email")
    async def email(self, request: Req) -> Template | Redirect:
        """What is your email address?"""
        progress = self._visit(request, "email")
        if isinstance(progress, Redirect):
            return progress
        return self._page(request, "email", "email", email=progress.get("email", ""))

    @post(f"{JOIN_PATH}/email")
    async def save_email(self, request: Req) -> Template | Redirect:
        """Keep the address, or say what is wrong with it."""
        progress = self._visit(request, "email")
        if isinstance(progress, Redirect):
            return progress
        typed = form_text(await request.form(), "email")
        email, problem = join.checked_email(typed)
        if email is None:
            return self._page(request, "email", "email", {"email": problem or ""}, email=typed[:300])
        return self._onward(request, "email", progress | {"email": email})

    @get(f"{JOIN_PATH}/where-you-live")
    async def where(self, request: Req) -> Template | Redirect:
        """Your postcode, or your area from the list."""
        progress = self._visit(request, "where-you-live")
        if isinstance(progress, Redirect):
            return progress
        return self._page(
            request, "where-you-live", "where_you_live", districts=districts(), selected=progress.get("district")
        )

    @post(f"{JOIN_PATH}/where-you-live")
    async def save_where(self, request: Req) -> Template | Redirect:
        """Find the area from the postcode or the choice, or say why it cannot be found."""
        progress = self._visit(request, "where-you-live")
        if isinstance(progress, Redirect):
            return progress
        form = await request.form()
        chosen = form_text(form, "district") or None
        answer = where_you_live(chosen, form_text(form, "postcode"))
        if answer.district is None:
            return self._page(
                request,
                "where-you-live",
                "where_you_live",
                answer.errors,
                districts=districts(),
                selected=chosen,
                postcode=answer.postcode,
            )
        return self._onward(request, "where-you-live", progress | {"district": answer.district})

    @get(f"{JOIN_PATH}/about-you")
    async def about_you(self, request: Req) -> Template | Redirect:
        """Optional: age group and sex."""
        progress = self._visit(request, "about-you")
        if isinstance(progress, Redirect):
            return progress
        return self._page(
            request,
            "about-you",
            "about_you",
            age_bands=AGE_BANDS,
            sexes=SEXES,
            age_band=progress.get("age_band"),
            sex=progress.get("sex"),
        )

    @post(f"{JOIN_PATH}/about-you")
    async def save_about_you(self, request: Req) -> Template | Redirect:
        """Keep what was answered (nothing is fine)."""
        progress = self._visit(request, "about-you")
        if isinstance(progress, Redirect):
            return progress
        form = await request.form()
        age_band, sex = form_text(form, "age_band") or None, form_text(form, "sex") or None
        if problems := join.about_you_problems(age_band, sex):
            context = {"age_bands": AGE_BANDS, "sexes": SEXES, "age_band": None, "sex": None}
            return self._page(request, "about-you", "about_you", problems, **context)
        return self._onward(request, "about-you", progress | {"age_band": age_band, "sex": sex, "about_done": True})

    @get(f"{JOIN_PATH}/consent")
    async def consent(self, request: Req) -> Template | Redirect:
        """The privacy notice, and agreeing to it."""
        progress = self._visit(request, "consent")
        if isinstance(progress, Redirect):
            return progress
        return self._page(
            request,
            "consent",
            "consent",
            agreed=bool(progress.get("consent")),
            consent_version=join.PRIVACY_NOTICE_VERSION,
            hear_about_results=bool(progress.get("hear_about_results")),
        )

    @post(f"{JOIN_PATH}/consent")
    async def save_consent(self, request: Req) -> Template | Redirect:
        """Go on only with the box ticked."""
        progress = self._visit(request, "consent")
        if isinstance(progress, Redirect):
            return progress
        form = await request.form()
        problems = {}
        if form_text(form, "consent") != join.PRIVACY_NOTICE_VERSION:
            problems["consent"] = "Select that you agree to the privacy notice to join the panel"
        hear_about_results = join.results_emails_answer(form_text(form, "hear_about_results"))
        if hear_about_results is None:
            problems["hear_about_results"] = join.RESULTS_EMAILS_PROBLEM
        if problems:
            return self._page(
                request,
                "consent",
                "consent",
                problems,
                agreed=form_text(form, "consent") == join.PRIVACY_NOTICE_VERSION,
                consent_version=join.PRIVACY_NOTICE_VERSION,
                hear_about_results=bool(hear_about_results),
            )
        kept = {"consent": join.PRIVACY_NOTICE_VERSION, "hear_about_results": hear_about_results}
        return self._onward(request, "consent", progress | kept)

    @get(f"{JOIN_PATH}/check")
    async def check(self, request: Req) -> Template | Redirect:
        """Check your answers before joining."""
        progress = self._visit(request, "check")
        if isinstance(progress, Redirect):
            return progress
        district = districts_by_code().get(progress["district"])
        return Template(
            "members/join/check.html",
            context={
                "email": progress["email"],
                "district_name": district.name if district else "",
                "age_band_label": _label(AGE_BANDS, progress.get("age_band")),
                "sex_label": _label(SEXES, progress.get("sex")),
                "hear_about_results": bool(progress.get("hear_about_results")),
                "back_url": _url(PAGES[-1]),
                "form_action": _url("check"),
            },
            headers={"Cache-Control": "no-store"},
        )

    @post(f"{JOIN_PATH}/check")
    async def send(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Redirect:
        """Join: the member and their email stored together; then "check your email", whoever they are."""
        progress = self._visit(request, "check")
        if isinstance(progress, Redirect):
            return progress
        await request.app.state.rate_limiter.hit(JOIN, request.scope)
        answers = JoinAnswers(
            email=progress["email"],
            district_code=progress["district"],
            age_band=progress.get("age_band"),
            sex=progress.get("sex"),
            consent_version=progress["consent"],
            hear_about_results=progress.get("hear_about_results") is True,
        )
        settings = request.app.state.settings
        await join.join(db_session, answers, base_url=settings.base_url, secret_key=settings.secret_key)
        await db_session.commit()
        request.session.pop(_PROGRESS, None)
        request.session[_SENT] = answers.email
        return see_other(f"{JOIN_PATH}/check-your-email")

    @get(f"{JOIN_PATH}/check-your-email")
    async def check_your_email(self, request: Req) -> Template | Redirect:
        """The same page for every address: what to do next."""
        sent = request.session.get(_SENT) if isinstance(request.session, dict) else None
        if not isinstance(sent, str):
            return see_other(JOIN_PATH)
        return Template(
            "members/join/check_your_email.html",
            context={"email": sent, "days": join.CONFIRM_DAYS},
            headers={"Cache-Control": "no-store"},
        )

    # --- the link in the email ------------------------------------------------------------------

    @staticmethod
    def _refused(state: LinkState) -> Template:
        """The page for a link that cannot confirm: what happened, and what to do."""
        status = 404 if state is LinkState.NOT_OURS else 410
        template = {LinkState.NOT_OURS: "link_not_found", LinkState.EXPIRED: "link_expired"}.get(state, "link_used")
        return Template(
            f"members/join/{template}.html",
            context={"join_url": JOIN_PATH, "days": join.CONFIRM_DAYS},
            status_code=status,
            headers={"Cache-Control": "no-store"},
        )

    @get(f"{join.CONFIRM_PATH}{{token:str}}")
    async def confirm_page(
        self, request: Req, token: FromPath[str], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        """A Confirm button: opening the link changes nothing (mail scanners open links too)."""
        found = await join.link_state(db_session, request.app.state.settings.secret_key, token)
        if found.state is not LinkState.READY:
            return self._refused(found.state)
        return Template(
            "members/join/confirm.html",
            context={"form_action": join.CONFIRM_PATH + token, "rejoining": found.rejoining},
            headers={"Cache-Control": "no-store"},
        )

    @post(f"{join.CONFIRM_PATH}{{token:str}}", status_code=200)
    async def confirm(self, request: Req, token: FromPath[str], db_session: NamedDependency[AsyncSession]) -> Template:
        """Make the member active; or say why the link cannot."""
        settings = request.app.state.settings
        found = await join.confirm(db_session, settings.secret_key, token)
        if found.state is not LinkState.READY or found.link is None:
            await db_session.rollback()
            return self._refused(found.state)
        await db_session.commit()
        district = districts_by_code().get(found.link.district_code)
        return Template(
            "members/join/joined.html",
            context={
                "district_name": district.name if district else "",
                "manage_url": manage_url("", settings.secret_key, found.link.member_id),
            },
            headers={"Cache-Control": "no-store"},
        )
