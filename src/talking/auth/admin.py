"""Admin pages: staff accounts (add, change role, deactivate) and the audit log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from talking import audit
from talking.audit import ACTIONS, AuditQuery
from talking.auth import services
from talking.params import RowId
from talking.principal import ROLES
from talking.text import text_problem
from talking.web.forms import field_messages, form_text
from talking.web.guards import requires
from talking.web.navigation import flash, see_other, take_flash
from talking.web.people import client_ip, principal_of
from talking.web.times import LONDON, staff_time

AUDIT_PAGE_SIZE = 50
ROLE_HINTS = {
    "admin": "Manages staff accounts and sees the audit log, and can do everything staff can",
    "staff": "Builds and runs surveys, and reads reports",
    "analyst": "Reads reports and exports only",
}


# --- what the templates get ------------------------------------------------------------------------


class UserRow(msgspec.Struct, frozen=True):
    """A staff account as the admin pages show it."""

    id: int
    email: str
    role: str
    active: bool
    created: str
    last_sign_in: str


class AuditRow(msgspec.Struct, frozen=True):
    """One audit event as the log shows it."""

    when: str
    who: str
    action: str
    target: str
    target_href: str | None
    detail: str
    ip: str


class AuditFilter(msgspec.Struct, frozen=True):
    """The audit log's filter form as typed, kept for re-rendering."""

    action: str = ""
    actor: str = ""
    from_day: str = ""
    from_month: str = ""
    from_year: str = ""
    to_day: str = ""
    to_month: str = ""
    to_year: str = ""


def _user_row(user: services.User) -> UserRow:
    return UserRow(
        id=user.id,
        email=user.email,
        role=user.role,
        active=user.is_active,
        created=staff_time(user.created_at),
        last_sign_in=staff_time(user.last_sign_in_at),
    )


def _detail(text: str) -> str:
    """An event's detail JSON as "key: value" pairs."""
    try:
        detail = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text
    if not isinstance(detail, dict):
        return str(detail)
    return ", ".join(f"{key}: {value}" for key, value in detail.items())


def _date(day: str, month: str, year: str, label: str) -> tuple[date | None, str | None]:
    """A GOV.UK date input's three fields as a date, or None if all are blank, or an error message."""
    parts = [day.strip(), month.strip(), year.strip()]
    if not any(parts):
        return None, None
    if not all(parts):
        missing = [name for name, part in zip(("day", "month", "year"), parts, strict=True) if not part]
        return None, f"The {label} date must include a {' and '.join(missing)}"
    if not all(part.isdigit() for part in parts) or len(parts[2]) != 4:
        return None, f"The {label} date must be a real date, like 27 3 2026"
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0])), None
    except ValueError:
        return None, f"The {label} date must be a real date, like 27 3 2026"


def _london_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=LONDON)


def _audit_query(query: MultiDict[str]) -> tuple[AuditFilter, AuditQuery, dict[str, str]]:
    """The filter as typed, what it asks the audit log for, and what is wrong with it."""
    typed = AuditFilter(
        action=query.get("action", "").strip(),
        actor=query.get("actor", "").strip(),
        **{
            f"{end}_{part}": query.get(f"{end}-{part}", "")
            for end in ("from", "to")
            for part in ("day", "month", "year")
        },
    )
    errors: dict[str, str] = {}
    if typed.action and typed.action not in ACTIONS:
        errors["action"] = "Choose an action from the list"
    if problem := text_problem(typed.actor, label="Email address", max_chars=254):
        errors["actor"] = problem  # NUL, for one, would reach PostgreSQL's query and fail there
    start, problem = _date(typed.from_day, typed.from_month, typed.from_year, "from")
    if problem:
        errors["from-day"] = problem
    end, problem = _date(typed.to_day, typed.to_month, typed.to_year, "to")
    if problem:
        errors["to-day"] = problem
    if start and end and end < start:
        errors["to-day"] = "The to date must be the same as or after the from date"
    wanted = AuditQuery(
        action=typed.action or None,
        actor=typed.actor or None,
        since=_london_midnight(start) if start else None,
        before=_london_midnight(end + timedelta(days=1)) if end else None,
    )
    return typed, wanted, errors


def _page_number(query: MultiDict[str]) -> int:
    text = query.get("page", "1")
    return int(text) if text.isdigit() and 0 < int(text) < 1_000_000 else 1


def _pagination(query: MultiDict[str], page: int, pages: int) -> dict[str, Any] | None:
    """govukPagination's parameters, keeping the filter in every link."""
    if pages <= 1:
        return None
    kept = [(key, value) for key, value in query.multi_items() if key != "page"]

    def href(number: int) -> str:
        return "/admin/audit?" + urlencode([*kept, ("page", str(number))])

    shown = sorted({1, pages, *range(max(1, page - 1), min(pages, page + 1) + 1)})
    items: list[dict[str, Any]] = []
    for previous, number in zip([0, *shown], shown, strict=False):
        if number - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == page})
    return {
        "items": items,
        "previous": {"href": href(page - 1)} if page > 1 else None,
        "next": {"href": href(page + 1)} if page < pages else None,
        "landmarkLabel": "Audit log pages",
    }


class AdminPages(Controller):
    """Only admins: manage staff accounts and read the audit log."""

    path = "/admin"
    include_in_schema = False
    guards: ClassVar = [requires("admin")]

    @get("/users")
    async def users(self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Template:
        """Every staff account."""
        accounts = [_user_row(u) for u in await services.list_users(db_session)]
        return Template("admin/users.html", context={"users": accounts, "flash": take_flash(request)})

    @staticmethod
    def _new_user_page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> Template:
        return Template(
            "admin/new_user.html",
            context={"form": form or {}, "roles": ROLES, "role_hints": ROLE_HINTS, "errors": errors or {}},
            status_code=422 if errors else 200,
        )

    @get("/users/new")
    async def new_user(self) -> Template:
        """The form to add an account."""
        return self._new_user_page()

    @post("/users/new")
    async def create_user(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template | Redirect:
        """Add the account; every problem is listed at once."""
        form = await request.form()
        email, role = form_text(form, "email").strip(), form_text(form, "role")
        password, confirm = form_text(form, "password"), form_text(form, "confirm_password")
        kept = {"email": email, "role": role}
        mismatch = {"confirm_password": "The passwords do not match"} if password != confirm else {}
        # A savepoint lets the service check everything else even when the passwords differ.
        savepoint = await db_session.begin_nested()
        try:
            user = await services.create_user(
                db_session, email, role, password, actor=principal_of(request), ip=client_ip(request)
            )
        except services.AccountError as exc:
            await savepoint.rollback()
            return self._new_user_page(kept, {**field_messages(exc.errors), **mismatch})
        if mismatch:
            await savepoint.rollback()
            return self._new_user_page(kept, mismatch)
        await savepoint.commit()
        await db_session.commit()
        flash(request, f"Account created for {user.email} ({user.role}).")
        return see_other(f"/admin/users/{user.id}")

    async def _user_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        user_id: int,
        errors: dict[str, str] | None = None,
    ) -> Template:
        user = await services.get_user(db_session, user_id)
        if user is None:
            raise NotFoundException()
        return Template(
            "admin/user.html",
            context={
                "user": _user_row(user),
                "is_you": user.id == principal_of(request).user_id,
                "roles": ROLES,
                "role_hints": ROLE_HINTS,
                "errors": errors or {},
                "flash": None if errors else take_flash(request),
            },
            status_code=422 if errors else 200,
        )

    @get("/users/{user_id:int}")
    async def user(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user_id: RowId
    ) -> Template:
        """One account: its role and whether it can sign in."""
        return await self._user_page(request, db_session, user_id)

    @post("/users/{user_id:int}/role")
    async def change_role(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user_id: RowId
    ) -> Template | Redirect:
        """Give the account another role."""
        role = form_text(await request.form(), "role")
        user = await services.get_user(db_session, user_id)
        if user is None:
            raise NotFoundException()
        try:
            await services.change_role(db_session, user_id, role, actor=principal_of(request), ip=client_ip(request))
        except services.AccountError as exc:
            return await self._user_page(request, db_session, user_id, field_messages(exc.errors))
        await db_session.commit()
        if role != user.role:
            flash(request, f"{user.email} is now {role}.")
        return see_other(f"/admin/users/{user_id}")

    @post("/users/{user_id:int}/active")
    async def set_active(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user_id: RowId
    ) -> Template | Redirect:
        """Deactivate (signs them out, stops their tokens) or reactivate the account."""
        active = form_text(await request.form(), "active") == "true"
        user = await services.get_user(db_session, user_id)
        if user is None:
            raise NotFoundException()
        try:
            await services.set_active(db_session, user_id, active, actor=principal_of(request), ip=client_ip(request))
        except services.AccountError as exc:
            errors = {"active" if e.field == "user" else e.field: e.message for e in exc.errors}
            return await self._user_page(request, db_session, user_id, errors)
        await db_session.commit()
        flash(
            request,
            f"{user.email} can sign in again."
            if active
            else f"{user.email} has been deactivated: signed out, and their API tokens no longer work.",
        )
        return see_other(f"/admin/users/{user_id}")

    @get("/audit")
    async def audit_log(self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Template:
        """Who did what, newest first, 50 to a page."""
        query = request.query_params
        typed, wanted, errors = _audit_query(query)
        rows: list[AuditRow] = []
        total = 0
        page = _page_number(query)
        pages = 1
        if not errors:
            total, events = await audit.search(
                db_session, wanted, limit=AUDIT_PAGE_SIZE, offset=(page - 1) * AUDIT_PAGE_SIZE
            )
            pages = max(1, -(-total // AUDIT_PAGE_SIZE))
            if page > pages:  # past the end (the log is filtered further than the link knew): show the last page
                page = pages
                total, events = await audit.search(
                    db_session, wanted, limit=AUDIT_PAGE_SIZE, offset=(page - 1) * AUDIT_PAGE_SIZE
                )
            rows = [
                AuditRow(
                    when=staff_time(e.at, seconds=True),
                    who=e.actor_email or "Unknown",
                    action=e.action.replace("_", " "),
                    target=f"{e.target_type} {e.target_id}" if e.target_type and e.target_id else (e.target_type or ""),
                    target_href=f"/admin/users/{e.target_id}"
                    if e.target_type == "user" and e.target_id and e.target_id.isdigit()
                    else None,
                    detail=_detail(e.detail),
                    ip=e.ip or "",
                )
                for e in events
            ]
        first = (page - 1) * AUDIT_PAGE_SIZE + 1 if rows else 0
        return Template(
            "admin/audit.html",
            context={
                "audit_filter": typed,
                "actions": ACTIONS,
                "events": rows,
                "total": total,
                "first": first,
                "last": first + len(rows) - 1 if rows else 0,
                "pagination": None if errors else _pagination(query, page, pages),
                "filtered": any(key != "page" and value for key, value in query.items()),
                "errors": errors,
            },
            status_code=422 if errors else 200,
        )
