"""One frozen settings object, read from ``TALKING_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_VAR_DIR = Path("var")
DEFAULT_MAIL_FROM = "Talking <no-reply@talking.localhost>"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the app needs to know about where it runs."""

    database_url: str = field(default_factory=lambda: f"sqlite+aiosqlite:///{DEFAULT_VAR_DIR / 'talking.db'}")
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    redis_url: str | None = None
    # Served over HTTPS (directly or behind a proxy): cookies become Secure with the __Host- prefix.
    https: bool = False
    # Most responses the writer commits in one transaction; see surveys/writer.py.
    max_batch: int = 256
    debug: bool = False
    # Reports suppress any district (or cell) with fewer respondents than this (disclosure control).
    report_min_cell: int = 10
    # Email for the resident panel (mail/): SMTP when set (smtp://user:pass@host:587, smtps://host),
    # else each message is written as an .eml file under mail_dir.
    smtp_url: str | None = None
    mail_from: str = DEFAULT_MAIL_FROM
    mail_reply_to: str | None = None
    # Messages per second the sender hands to SMTP at most (across every process: one sender runs).
    mail_rate: int = 50
    mail_dir: Path = DEFAULT_VAR_DIR / "mail"
    # Days a finished message keeps its recipient, subject and bodies before the sender clears them.
    mail_retention_days: int = 30

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is an SQLite file (the embedded default)."""
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read settings from the environment, falling back to the defaults for a laptop."""
        env = os.environ if environ is None else environ
        database_url = env.get("TALKING_DATABASE_URL") or cls().database_url
        return cls(
            database_url=database_url,
            secret_key=env.get("TALKING_SECRET_KEY") or _local_secret_key(),
            host=env.get("TALKING_HOST", "127.0.0.1"),
            port=int(env.get("TALKING_PORT", "8000")),
            workers=int(env.get("TALKING_WORKERS", "1")),
            redis_url=env.get("TALKING_REDIS_URL") or None,
            https=env.get("TALKING_HTTPS", "").lower() in {"1", "true", "yes"},
            debug=env.get("TALKING_DEBUG", "") in {"1", "true", "yes"},
            report_min_cell=_positive_int(env.get("TALKING_REPORT_MIN_CELL", "10"), "TALKING_REPORT_MIN_CELL"),
            smtp_url=env.get("TALKING_SMTP_URL") or None,
            mail_from=env.get("TALKING_MAIL_FROM") or DEFAULT_MAIL_FROM,
            mail_reply_to=env.get("TALKING_MAIL_REPLY_TO") or None,
            mail_rate=_positive_int(env.get("TALKING_MAIL_RATE", "50"), "TALKING_MAIL_RATE"),
            mail_dir=Path(env.get("TALKING_MAIL_DIR") or DEFAULT_VAR_DIR / "mail"),
            mail_retention_days=_positive_int(
                env.get("TALKING_MAIL_RETENTION_DAYS", "30"), "TALKING_MAIL_RETENTION_DAYS"
            ),
        )


def _positive_int(text: str, name: str) -> int:
    """A whole number of at least 1, or a clear error naming the variable."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {text!r}")
    return value


def _local_secret_key() -> str:
    """Keep a generated key in var/ so every worker on this machine signs with the same key.

    Production sets TALKING_SECRET_KEY; this only spares a newcomer from inventing one.
    """
    path = DEFAULT_VAR_DIR / "secret.key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # O_EXCL: if two workers race, the loser reads the winner's key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key
