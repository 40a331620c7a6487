"""Accounts, sign-in and API tokens: the rules and the queries."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import msgspec
from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from talking import audit
from talking.auth import throttle
from talking.auth.passwords import hash_password, needs_rehash, password_problem, verify_password
from talking.db.models import api_tokens, users
from talking.errors import FieldError, RulesBroken
from talking.principal import ROLES, Principal, Role
from talking.text import clean_text, is_blank, text_problem

Db = AsyncSession | AsyncConnection

# A deliberately loose check: the address is only a sign-in name here; we never email it.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN_PREFIX = "tk_"  # noqa: S105 (a marker, not a secret)
# Failures allowed before each further attempt must wait; the wait doubles up to the cap.
FREE_FAILURES = 3
MAX_WAIT = timedelta(minutes=15)
# last_used_at is a hint for people reviewing tokens, not a log: update it at most this often.
_TOUCH_EVERY = timedelta(minutes=1)


class AccountError(RulesBroken):
    """A request about an account that breaks the rules; nothing changed."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors, "; ".join(e.message for e in errors))


class SignInRefused(Exception):
    """Wrong email or password, a deactivated account, or too many attempts: one message for all."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class User(msgspec.Struct, frozen=True):
    """A staff account as pages and the API show it."""

    id: int
    email: str
    role: Role
    is_active: bool
    created_at: datetime
    last_sign_in_at: datetime | None


class Token(msgspec.Struct, frozen=True):
    """An API token as listed: never the token itself."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def normalise_email(email: str) -> str:
    """The form we store and compare: trimmed and lower-cased."""
    return email.strip().lower()


def token_digest(token: str) -> bytes:
    """SHA-256 of a token. Tokens carry 256 random bits, so a fast unsalted hash is enough."""
    return hashlib.sha256(token.encode()).digest()


def _user(row: object) -> User:
    return User(
        id=row.id,  # type: ignore[attr-defined]
        email=row.email,  # type: ignore[attr-defined]
        role=row.role,  # type: ignore[attr-defined]
        is_active=row.is_active,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        last_sign_in_at=row.last_sign_in_at,  # type: ignore[attr-defined]
    )


async def create_user(
    db: Db, email: str, role: str, password: str, *, actor: Principal | None = None, ip: str | None = None
) -> User:
    """Add a staff account; AccountError lists every problem."""
    errors = []
    if problem := text_problem(email, label="The email address", max_chars=254, required=True):
        errors.append(FieldError("email", problem))
    email = normalise_email(email)
    if not errors and not _EMAIL.match(email):
        errors.append(FieldError("email", "Enter an email address in the correct format, like name@example.org"))
    if role not in ROLES:
        errors.append(FieldError("role", f"Role must be one of {', '.join(ROLES)}"))
    if problem := password_problem(password):
        errors.append(FieldError("password", problem))
    if not errors and (await db.execute(select(users.c.id).where(users.c.email == email))).first():
        errors.append(FieldError("email", "There is already an account with this email address"))
    if errors:
        raise AccountError(errors)
    now = datetime.now(UTC)
    try:
        user_id = (
            await db.execute(
                insert(users)
                .values(
                    email=email, password_hash=await hash_password(password), role=role, is_active=True, created_at=now
                )
                .returning(users.c.id)
            )
        ).scalar_one()
    except IntegrityError as exc:
        raise AccountError([FieldError("email", "There is already an account with this email address")]) from exc
    await audit.record(
        db,
        "user_created",
        actor=actor,
        actor_email=None if actor else "command line",
        target_type="user",
        target_id=user_id,
        detail={"email": email, "role": role},
        ip=ip,
    )
    return User(id=user_id, email=email, role=role, is_active=True, created_at=now, last_sign_in_at=None)  # type: ignore[arg-type]


async def list_users(db: Db) -> list[User]:
    """Every account, by email."""
    return [_user(r) for r in await db.execute(select(users).order_by(users.c.email))]


async def get_user(db: Db, user_id: int) -> User | None:
    """One account, or None."""
    row = (await db.execute(select(users).where(users.c.id == user_id))).first()
    return _user(row) if row else None


async def get_user_by_email(db: Db, email: str) -> User | None:
    """One account by email, or None."""
    row = (await db.execute(select(users).where(users.c.email == normalise_email(email)))).first()
    return _user(row) if row else None


async def change_role(db: Db, user_id: int, role: str, *, actor: Principal, ip: str | None = None) -> None:
    """Give an account another role."""
    if role not in ROLES:
        raise AccountError([FieldError("role", f"Role must be one of {', '.join(ROLES)}")])
    before = await get_user(db, user_id)
    if before is None:
        raise AccountError([FieldError("user", "No such account")])
    if before.id == actor.user_id and role != "admin":
        raise AccountError([FieldError("role", "You cannot take away your own admin role")])
    await db.execute(update(users).where(users.c.id == user_id).values(role=role))
    await audit.record(
        db,
        "user_role_changed",
        actor=actor,
        target_type="user",
        target_id=user_id,
        detail={"email": before.email, "from": before.role, "to": role},
        ip=ip,
    )


async def set_active(db: Db, user_id: int, active: bool, *, actor: Principal, ip: str | None = None) -> None:
    """Deactivate (or reactivate) an account; a deactivated account's sessions and tokens stop working."""
    before = await get_user(db, user_id)
    if before is None:
        raise AccountError([FieldError("user", "No such account")])
    if before.id == actor.user_id and not active:
        raise AccountError([FieldError("user", "You cannot deactivate your own account")])
    await db.execute(update(users).where(users.c.id == user_id).values(is_active=active))
    await audit.record(
        db,
        "user_reactivated" if active else "user_deactivated",
        actor=actor,
        target_type="user",
        target_id=user_id,
        detail={"email": before.email},
        ip=ip,
    )


def _wait_after(failures: int) -> timedelta:
    """How long to wait after this many consecutive failures before the next attempt counts."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - FREE_FAILURES, 20)), MAX_WAIT)


async def sign_in(db: Db, email: str, password: str, *, ip: str | None = None) -> Principal:
    """Check an email and password; SignInRefused with one message whatever went wrong.

    Commits part-way, so ``db`` must be a session or a connection in commit-as-you-go mode (the
    caller commits the rest, refusals included). Every attempt is counted, however many arrive at
    once: under the email's throttle row lock (``throttle.lock_row``) it is either turned away or
    counted as a failure in advance, and that is committed before the password is checked. So
    parallel guesses each see the ones before them, and the slow argon2 check holds no lock (on
    SQLite the write lock is the whole database's: residents' answers would wait behind it).
    """
    if text_problem(email, label="Email", max_chars=254, required=True):
        # No account has such an address: refused before it reaches a query (PostgreSQL refuses
        # NUL) or the throttle table and audit log (which would keep whatever was typed).
        raise SignInRefused("Enter a correct email address and password.")
    email = normalise_email(email)
    now = datetime.now(UTC)
    failures, last_failed_at = await throttle.lock_row(db, email, now)
    ready_at = last_failed_at + _wait_after(failures) if failures else now
    row = (await db.execute(select(users).where(users.c.email == email))).first()
    if now < ready_at:
        # Counted (so guessing in parallel only lengthens the wait) but not checked.
        await throttle.count_failure(db, email, last_failed_at)
        await _audit_failure(db, email, row, "too many attempts", ip)
        seconds = int((ready_at - now).total_seconds()) + 1
        unit = "second" if seconds == 1 else "seconds"
        raise SignInRefused(f"Too many failed attempts. Wait {seconds} {unit} and try again.", seconds)
    await throttle.count_failure(db, email, now)  # until the password proves right
    await db.commit()
    ok = await verify_password(row.password_hash if row else None, password)
    if not ok or row is None or not row.is_active:
        await _audit_failure(db, email, row, "deactivated" if ok and row is not None else "wrong email or password", ip)
        raise SignInRefused("Enter a correct email address and password.")
    values: dict[str, object] = {"last_sign_in_at": now}
    if needs_rehash(row.password_hash):
        values["password_hash"] = await hash_password(password)
    await db.execute(update(users).where(users.c.id == row.id).values(**values))
    await throttle.forget(db, email)
    principal = Principal(user_id=row.id, email=row.email, role=row.role, via="session")
    await audit.record(db, "sign_in", actor=principal, target_type="user", target_id=row.id, ip=ip)
    return principal


async def _audit_failure(db: Db, email: str, row: object | None, reason: str, ip: str | None) -> None:
    await audit.record(
        db,
        "sign_in_failed",
        actor_email=email,
        target_type="user",
        target_id=row.id if row else None,  # type: ignore[attr-defined]
        ip=ip,
        detail={"reason": reason},
    )


async def active_principal(db: Db, user_id: int) -> Principal | None:
    """The signed-in user behind a session, if the account is still active."""
    row = (
        await db.execute(
            select(users.c.id, users.c.email, users.c.role, users.c.is_active).where(users.c.id == user_id)
        )
    ).first()
    if row is None or not row.is_active:
        return None
    return Principal(user_id=row.id, email=row.email, role=row.role, via="session")


async def create_token(
    db: Db, user_id: int, name: str, *, actor: Principal | None = None, ip: str | None = None
) -> tuple[str, Token]:
    """Make a new API token; the token itself is returned once and never stored."""
    if is_blank(name) or len(clean_text(name)) > 100:
        raise AccountError([FieldError("name", "Enter a name for the token of 100 characters or fewer")])
    if problem := text_problem(name, label="The token's name", max_chars=100):
        raise AccountError([FieldError("name", problem)])
    name = clean_text(name)
    user = await get_user(db, user_id)
    if user is None or not user.is_active:
        raise AccountError([FieldError("user", "No active account with that email address")])
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    token_id = (
        await db.execute(
            insert(api_tokens)
            .values(user_id=user_id, name=name, prefix=token[:10], token_hash=token_digest(token), created_at=now)
            .returning(api_tokens.c.id)
        )
    ).scalar_one()
    await audit.record(
        db,
        "token_created",
        actor=actor,
        actor_email=None if actor else "command line",
        target_type="token",
        target_id=token_id,
        detail={"name": name, "owner": user.email},
        ip=ip,
    )
    return token, Token(id=token_id, name=name, prefix=token[:10], created_at=now, last_used_at=None, revoked_at=None)


async def list_tokens(db: Db, user_id: int) -> list[Token]:
    """A user's tokens, newest first, revoked ones included."""
    rows = await db.execute(
        select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.created_at.desc())
    )
    return [
        Token(
            id=r.id,
            name=r.name,
            prefix=r.prefix,
            created_at=r.created_at,
            last_used_at=r.last_used_at,
            revoked_at=r.revoked_at,
        )
        for r in rows
    ]


async def revoke_token(db: Db, token_id: int, *, actor: Principal, ip: str | None = None) -> None:
    """Revoke a token: its owner or an admin may."""
    row = (await db.execute(select(api_tokens).where(api_tokens.c.id == token_id))).first()
    if row is None or (row.user_id != actor.user_id and not actor.can("admin")):
        raise AccountError([FieldError("token", "No such token")])
    if row.revoked_at is None:
        await db.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=datetime.now(UTC)))
        await audit.record(
            db, "token_revoked", actor=actor, target_type="token", target_id=token_id, detail={"name": row.name}, ip=ip
        )


class TokenUse(NamedTuple):
    """Who a live token acts for, and whether its last_used_at is due a touch (``touch_token``)."""

    principal: Principal
    touch_due: bool


async def principal_for_token(db: Db, token: str) -> TokenUse | None:
    """The user a bearer token acts for, if the token is live and its user active.

    Only reads, so any connection will do; the touch is a write of its own, when due."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = (
        await db.execute(
            select(api_tokens.c.id, api_tokens.c.last_used_at, users.c.id.label("user_id"), users.c.email, users.c.role)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(
                api_tokens.c.token_hash == token_digest(token),
                api_tokens.c.revoked_at.is_(None),
                users.c.is_active.is_(True),
            )
        )
    ).first()
    if row is None:
        return None
    due = row.last_used_at is None or datetime.now(UTC) - row.last_used_at > _TOUCH_EVERY
    return TokenUse(Principal(user_id=row.user_id, email=row.email, role=row.role, via="token", token_id=row.id), due)


async def touch_token(db: Db, token_id: int) -> None:
    """Note that a token was used now; one blind UPDATE, so concurrent uses need no read first."""
    now = datetime.now(UTC)
    await db.execute(
        update(api_tokens)
        .where(
            api_tokens.c.id == token_id,
            or_(api_tokens.c.last_used_at.is_(None), api_tokens.c.last_used_at < now - _TOUCH_EVERY),
        )
        .values(last_used_at=now)
    )
