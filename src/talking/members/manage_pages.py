"""A member's own pages, from the manage link in every email: their details, changing them, leaving, deleting.

Every page carries the signed token in its address (``?token=``), and every form posts it back with
the CSRF token; a change redirects to the details page with a banner saying what changed
(Post/Redirect/Get). A link we did not make is "not found" (404); one too old, or whose member's
details are gone, says so (410). Both say what to do instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from talking.members import directory, manage
from talking.members.join import RESULTS_EMAILS_PROBLEM, about_you_problems, results_emails_answer
from talking.members.manage import MANAGE_PATH, LinkExpired, LinkNotRecognised, YourDetails
from talking.members.unsubscribe import unsubscribe_member
from talking.reference import AGE_BANDS, SEXES, districts, districts_by_code
from talking.web.forms import form_text
from talking.web.navigation import flash, see_other, take_flash
from talking.web.people import client_ip
from talking.web.where_you_live import where_you_live

Req = Request[Any, Any, Any]
DELETED_PATH = "/members/deleted"
# Who asked, in the audit log, when a member deletes their own details.
SELF_SERVICE = "the member, from their manage link"


def _label(choices: Any, code: str | None) -> str:
    return next((choice.label for choice in choices if choice.code == code), "Not given")


def _link_not_recognised(_request: Req, _exc: LinkNotRecognised) -> Response[Any]:
    return Template("members/manage/link_not_found.html", status_code=404, headers={"Cache-Control": "no-store"})


def _link_expired(_request: Req, exc: LinkExpired) -> Response[Any]:
    return Template(
        "members/manage/link_expired.html",
        context={"erased": str(exc) == "erased", "days": manage.MANAGE_DAYS},
        status_code=410,
        headers={"Cache-Control": "no-store"},
    )


class ManagePages(Controller):
    """Your details on the resident panel."""

    include_in_schema = False
    exception_handlers = {  # noqa: RUF012
        LinkNotRecognised: _link_not_recognised,
        LinkExpired: _link_expired,
    }

    @staticmethod
    async def _you(request: Req, db: AsyncSession) -> tuple[str, YourDetails]:
        """The link's token and the member it names (or the 404/410 pages, by the exceptions above)."""
        token = request.query_params.get("token") or ""
        member_id = manage.member_of_manage_token(request.app.state.settings.secret_key, token)
        return token, await manage.your_details(db, member_id)

    @staticmethod
    def _url(path: str, token: str) -> str:
        return f"{path}?{urlencode({'token': token})}"

    def _page(self, template: str, token: str, errors: dict[str, str] | None = None, **context: Any) -> Template:
        return Template(
            f"members/manage/{template}.html",
            context={"errors": errors or {}, "back_url": self._url(MANAGE_PATH, token), **context},
            status_code=422 if errors else 200,
            headers={"Cache-Control": "no-store"},
        )

    @get(MANAGE_PATH)
    async def you(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template:
        """Your details, with a link to change each, and the ways to leave."""
        token, you = await self._you(request, db_session)
        district = districts_by_code().get(you.district_code or "")
        return Template(
            "members/manage/you.html",
            context={
                "you": you,
                "district_name": district.name if district else "Not given",
                "age_band": _label(AGE_BANDS, you.age_band),
                "sex": _label(SEXES, you.sex),
                "links": {
                    name: self._url(f"{MANAGE_PATH}/{name}", token)
                    for name in ("where-you-live", "about-you", "results-emails", "unsubscribe", "delete")
                },
                "flash": take_flash(request),
            },
            headers={"Cache-Control": "no-store"},
        )

    @get(f"{MANAGE_PATH}/where-you-live")
    async def where(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template:
        """Change your postcode or area."""
        token, you = await self._you(request, db_session)
        action = self._url(f"{MANAGE_PATH}/where-you-live", token)
        return self._page(
            "where_you_live", token, form_action=action, districts=districts(), selected=you.district_code
        )

    @post(f"{MANAGE_PATH}/where-you-live")
    async def save_where(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template | Redirect:
        """Move to the area found, or say why it cannot be found."""
        token, you = await self._you(request, db_session)
        form = await request.form()
        chosen = form_text(form, "district") or None
        answer = where_you_live(chosen, form_text(form, "postcode"))
        if answer.district is None:
            action = self._url(f"{MANAGE_PATH}/where-you-live", token)
            context = {"districts": districts(), "selected": chosen, "postcode": answer.postcode}
            return self._page("where_you_live", token, answer.errors, form_action=action, **context)
        await manage.change_district(db_session, you.id, answer.district)
        await db_session.commit()
        flash(request, f"Your area is now {districts_by_code()[answer.district].name}.")
        return see_other(self._url(MANAGE_PATH, token))

    @get(f"{MANAGE_PATH}/about-you")
    async def about_you(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template:
        """Change your age group or sex (both optional)."""
        token, you = await self._you(request, db_session)
        action = self._url(f"{MANAGE_PATH}/about-you", token)
        context = {"age_bands": AGE_BANDS, "sexes": SEXES, "age_band": you.age_band, "sex": you.sex}
        return self._page("about_you", token, form_action=action, **context)

    @post(f"{MANAGE_PATH}/about-you")
    async def save_about_you(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template | Redirect:
        """Keep the new answers (none is fine: what you told us before is then removed)."""
        token, you = await self._you(request, db_session)
        form = await request.form()
        age_band, sex = form_text(form, "age_band") or None, form_text(form, "sex") or None
        if problems := about_you_problems(age_band, sex):
            action = self._url(f"{MANAGE_PATH}/about-you", token)
            context = {"age_bands": AGE_BANDS, "sexes": SEXES, "age_band": None, "sex": None}
            return self._page("about_you", token, problems, form_action=action, **context)
        await manage.change_about_you(db_session, you.id, age_band, sex)
        await db_session.commit()
        flash(request, "Your answers about you have been changed.")
        return see_other(self._url(MANAGE_PATH, token))

    @get(f"{MANAGE_PATH}/results-emails")
    async def results_emails(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template:
        """Start or stop emails when results are published."""
        token, you = await self._you(request, db_session)
        action = self._url(f"{MANAGE_PATH}/results-emails", token)
        return self._page("results_emails", token, form_action=action, hear_about_results=you.hear_about_results)

    @post(f"{MANAGE_PATH}/results-emails")
    async def save_results_emails(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template | Redirect:
        """Keep the choice: ticked starts them, not ticked stops them."""
        token, you = await self._you(request, db_session)
        wanted = results_emails_answer(form_text(await request.form(), "hear_about_results"))
        if wanted is None:
            action = self._url(f"{MANAGE_PATH}/results-emails", token)
            problems = {"hear_about_results": RESULTS_EMAILS_PROBLEM}
            return self._page("results_emails", token, problems, form_action=action, hear_about_results=False)
        await manage.change_results_emails(db_session, you.id, wanted)
        await db_session.commit()
        if wanted:
            flash(request, "We will email you when results are published.")
        else:
            flash(request, "We will not email you when results are published.")
        return see_other(self._url(MANAGE_PATH, token))

    @post(f"{MANAGE_PATH}/unsubscribe")
    async def unsubscribe(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Redirect:
        """Leave the panel: no more emails (the details stay until you delete them)."""
        token, you = await self._you(request, db_session)
        await unsubscribe_member(db_session, you.id)
        await db_session.commit()
        flash(request, "You have unsubscribed. We will not email you again about surveys.")
        return see_other(self._url(MANAGE_PATH, token))

    @get(f"{MANAGE_PATH}/delete")
    async def delete_page(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template:
        """Are you sure? Deleting cannot be undone."""
        token, _you = await self._you(request, db_session)
        return self._page("delete", token, form_action=self._url(f"{MANAGE_PATH}/delete", token))

    @post(f"{MANAGE_PATH}/delete")
    async def delete(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Redirect:
        """Erase the member's address and details for good, and every email to them."""
        _token, you = await self._you(request, db_session)
        await directory.erase(db_session, you.id, actor=None, actor_email=SELF_SERVICE, ip=client_ip(request))
        await db_session.commit()
        return see_other(DELETED_PATH)

    @get(DELETED_PATH)
    async def deleted(self) -> Template:
        """Your details have been deleted."""
        return Template("members/manage/deleted.html")

    @get("/i/{token:str}/details")
    async def from_invitation(
        self, request: Req, token: FromPath[str], db_session: NamedDependency[AsyncSession]
    ) -> Redirect | Template:
        """ "Moved? Update your details" on an invitation: on to the member's manage page with a fresh link."""
        member_id = await manage.member_of_invitation(db_session, token)
        if member_id is None:
            return Template(
                "members/manage/invitation_not_found.html", status_code=404, headers={"Cache-Control": "no-store"}
            )
        fresh = manage.manage_token(request.app.state.settings.secret_key, member_id)
        return Redirect(path=self._url(MANAGE_PATH, fresh), status_code=303)
