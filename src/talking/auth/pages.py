"""Staff pages: sign in, sign out, and your account with its API tokens.

Sign-in failures re-render the form with status 422 and one message that never says whether the
account exists. Every successful POST redirects (303). The advanced-alchemy session commits only
on 2xx, so handlers commit themselves before a redirect, and before a 422 whose writes must stay
(a failed sign-in counts towards the throttle and the audit log).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from talking import audit
from talking.auth import services
from talking.auth.middleware import end_staff_session, new_csrf_cookie, start_staff_session
from talking.params import RowId
from talking.principal import Principal
from talking.rate_limits import SIGN_IN
from talking.web.forms import field_messages, form_text
from talking.web.guards import requires
from talking.web.navigation import flash, safe_next, see_other, take_flash
from talking.web.people import client_ip, principal_of
from talking.web.times import staff_time

DEFAULT_LANDING = "/staff"
_NEW_TOKEN = "new_token"  # noqa: S105 (a session key, not a secret)


# --- what the templates get ------------------------------------------------------------------------


class TokenRow(msgspec.Struct, frozen=True):
    """One API token as the account page lists it."""

    id: int
    name: str
    prefix: str
    created: str
    last_used: str
    revoked: str | None


class SignInPage(msgspec.Struct, frozen=True):
    """The sign-in form."""

    email: str = ""
    next: str | None = None
    signed_out: bool = False


# --- pages -------------------------------------------------------------------------------------


class StaffPages(Controller):
    """Signing in and out, and the signed-in user's own account."""

    include_in_schema = False

    @staticmethod
    def _sign_in_page(page: SignInPage, errors: dict[str, str] | None = None, **headers: str) -> Template:
        return Template(
            "auth/sign_in.html",
            context={"page": page, "errors": errors or {}},
            status_code=422 if errors else 200,
            headers=headers or None,
        )

    @get("/sign-in", name="sign-in")
    async def sign_in_form(self, request: Request[Any, Any, Any]) -> Template:
        """Email and password."""
        query = request.query_params
        return self._sign_in_page(
            SignInPage(next=safe_next(query.get("next")), signed_out=query.get("signed-out") == "1")
        )

    @post("/sign-in")
    async def sign_in(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template | Redirect:
        """Check the email and password; on success start a fresh session and go on."""
        # Per address, before anything is checked (services.sign_in throttles each email as well).
        await request.app.state.rate_limiter.hit(SIGN_IN, request.scope)
        form = await request.form()
        email, password = form_text(form, "email").strip(), form_text(form, "password")
        page = SignInPage(email=email, next=safe_next(form_text(form, "next")))
        errors = {}
        if not email:
            errors["email"] = "Enter your email address"
        if not password:
            errors["password"] = "Enter your password"  # noqa: S105 (a message, not a password)
        if errors:
            return self._sign_in_page(page, errors)
        try:
            principal = await services.sign_in(db_session, email, password, ip=client_ip(request))
        except services.SignInRefused as refused:
            await db_session.commit()  # the failure must count even though the page says no
            headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else {}
            return self._sign_in_page(page, {"email": refused.message}, **headers)
        # Commit before touching the session store: on SQLite it writes through another connection.
        await db_session.commit()
        await start_staff_session(request, principal)
        # A new session id and a new CSRF token: neither may be one known before sign-in.
        return Redirect(path=page.next or DEFAULT_LANDING, status_code=303, cookies=new_csrf_cookie(request))

    @post("/sign-out")
    async def sign_out(self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Redirect:
        """End the session (whoever was signed in) and say so on the sign-in page."""
        principal = request.scope.get("user")
        if isinstance(principal, Principal) and principal.via == "session":
            await audit.record(
                db_session,
                "sign_out",
                actor=principal,
                target_type="user",
                target_id=principal.user_id,
                ip=client_ip(request),
            )
            await db_session.commit()
        end_staff_session(request)
        return Redirect(path="/sign-in", query_params={"signed-out": "1"}, status_code=303)

    @get("/account", guards=[requires("analyst")])
    async def account(self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Template:
        """Who you are and your API tokens."""
        return await self._account_page(request, db_session)

    async def _account_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        errors: dict[str, str] | None = None,
        token_name: str = "",
    ) -> Template:
        principal = principal_of(request)
        tokens = [
            TokenRow(
                id=t.id,
                name=t.name,
                prefix=t.prefix,
                created=staff_time(t.created_at),
                last_used=staff_time(t.last_used_at),
                revoked=staff_time(t.revoked_at) if t.revoked_at else None,
            )
            for t in await services.list_tokens(db_session, principal.user_id)
        ]
        return Template(
            "auth/account.html",
            context={
                "principal": principal,
                "tokens": tokens,
                "token_name": token_name,
                "errors": errors or {},
                "flash": None if errors else take_flash(request),
            },
            status_code=422 if errors else 200,
        )

    @post("/account/tokens", guards=[requires("analyst")])
    async def create_token(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template | Redirect:
        """Make a token; it is shown once, on the next page."""
        principal = principal_of(request)
        name = form_text(await request.form(), "name")
        try:
            token, record = await services.create_token(
                db_session, principal.user_id, name, actor=principal, ip=client_ip(request)
            )
        except services.AccountError as exc:
            return await self._account_page(request, db_session, field_messages(exc.errors), token_name=name)
        await db_session.commit()
        # Kept in the server-side session only until the next page shows it (never in a URL).
        request.session[_NEW_TOKEN] = {"token": token, "name": record.name}
        return see_other("/account/tokens/new")

    @get("/account/tokens/new", guards=[requires("analyst")])
    async def new_token(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        """The new token, once: leaving or reloading the page forgets it."""
        shown = request.session.pop(_NEW_TOKEN, None)
        if not isinstance(shown, dict):
            return see_other("/account")
        return Template(
            "auth/new_token.html",
            context={"token": shown["token"], "name": shown["name"]},
            headers={"Cache-Control": "no-store"},
        )

    @post("/account/tokens/{token_id:int}/revoke", guards=[requires("analyst")])
    async def revoke_token(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], token_id: RowId
    ) -> Redirect:
        """Stop a token working at once."""
        principal = principal_of(request)
        owned = {t.id: t for t in await services.list_tokens(db_session, principal.user_id)}
        if token_id not in owned:
            raise NotFoundException()
        await services.revoke_token(db_session, token_id, actor=principal, ip=client_ip(request))
        await db_session.commit()
        flash(request, f"The token “{owned[token_id].name}” has been revoked. It no longer works.")
        return see_other("/account")
