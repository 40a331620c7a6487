"""`talking users ...` and `talking tokens ...`: staff accounts and API tokens from the command line
(joined to the `talking` command in cli.py), and the one-transaction runner the commands share."""

from __future__ import annotations

import asyncio

import click

from talking.settings import Settings


def run_in_transaction(work):
    """Run ``await work(connection)`` in one committed transaction on the configured database."""
    from talking.db.engine import create_engine, immediate

    async def run():
        engine = create_engine(Settings.from_env().database_url)
        try:
            # It reads then writes, perhaps while the service runs: SQLite's write lock from BEGIN.
            async with immediate(engine).begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@click.group()
def users() -> None:
    """Staff accounts."""


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "staff", "analyst"]), required=True, help="What they may do")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts)")
def users_create(email: str, role: str, password_stdin: bool) -> None:
    """Add a staff account (prompts for the password unless --password-stdin)."""
    from talking.auth.services import AccountError, create_user

    if password_stdin:
        password = click.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = run_in_transaction(lambda db: create_user(db, email, role, password))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"talking: created {user.role} {user.email} (id {user.id})")


@users.command("list")
def users_list() -> None:
    """List staff accounts."""
    from talking.auth.services import list_users

    for user in run_in_transaction(list_users):
        state = "active" if user.is_active else "deactivated"
        click.echo(f"{user.id:>5}  {user.role:<8} {state:<12} {user.email}")


@click.group()
def tokens() -> None:
    """API tokens for scripts (`Authorization: Bearer TOKEN`)."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="command line", show_default=True, help="What the token is for")
def tokens_create(email: str, name: str) -> None:
    """Create a token acting as EMAIL; the token is printed once, on the last line."""
    from talking.auth.services import AccountError, create_token, get_user_by_email

    async def make(db):
        user = await get_user_by_email(db, email)
        if user is None:
            raise AccountError([])
        return await create_token(db, user.id, name)

    try:
        token, record = run_in_transaction(make)
    except AccountError as exc:
        raise click.ClickException(str(exc) or f"no account for {email}") from exc
    click.echo(f"talking: token {record.prefix}... (id {record.id}) for {email}; keep it secret, it is shown once:")
    click.echo(token)


@tokens.command("list")
@click.argument("email")
def tokens_list(email: str) -> None:
    """List a user's tokens (never the tokens themselves)."""
    from talking.auth.services import get_user_by_email, list_tokens

    async def fetch(db):
        user = await get_user_by_email(db, email)
        return [] if user is None else await list_tokens(db, user.id)

    for token in run_in_transaction(fetch):
        state = "revoked" if token.revoked_at else "live"
        click.echo(f"{token.id:>5}  {token.prefix}...  {state:<8} {token.name}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by id."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from talking import audit
    from talking.db.models import api_tokens

    async def revoke(db):
        done = await db.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        if done.rowcount:
            await audit.record(db, "token_revoked", actor_email="command line", target_type="token", target_id=token_id)
        return done.rowcount

    if not run_in_transaction(revoke):
        raise click.ClickException(f"no live token with id {token_id}")
    click.echo(f"talking: token {token_id} revoked")
