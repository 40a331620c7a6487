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
    # Days after a survey closes that its comments, free-text and about-you answers are kept (talking.retention).
    retention_days: int = 365
    # The bearer token that may read /metrics; unset: /metrics answers no one (talking.metrics).
    metrics_token: str | None = None
    # "json": log one JSON object per line, with the request id (talking.logs); "text": plain lines.
    log_format: str = "text"
    # Limits on abuse (talking/rate_limits): on unless TALKING_RATE_LIMITS=off; values as `limits` writes them.
    rate_limits: bool = True
    rate_limit_submit: str = "60/minute"
    rate_limit_sign_in: str = "20/minute;200/hour"
    rate_limit_join: str = "10/minute;100/hour"
    rate_limit_staff_api: str = "600/minute"
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR blocks).
    trusted_proxies: tuple[str, ...] = ()
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
    # The address residents reach the service at, for links in emails (TALKING_BASE_URL, e.g.
    # https://talking.lancashire.gov.uk). Never taken from a request's Host header, which a client
    # writes: a forged one would put someone else's site in the links a member is sent.
    base_url: str = "http://127.0.0.1:8000"

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is an SQLite file (the embedded default)."""
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read settings from the environment, falling back to the defaults for a laptop."""
        env = os.environ if environ is None else environ
        database_url = env.get("TALKING_DATABASE_URL") or cls().database_url
        host, port = env.get("TALKING_HOST", "127.0.0.1"), int(env.get("TALKING_PORT", "8000"))
        return cls(
            database_url=database_url,
            secret_key=env.get("TALKING_SECRET_KEY") or _local_secret_key(),
            host=host,
            port=port,
            workers=int(env.get("TALKING_WORKERS", "1")),
            redis_url=env.get("TALKING_REDIS_URL") or None,
            https=env.get("TALKING_HTTPS", "").lower() in {"1", "true", "yes"},
            debug=env.get("TALKING_DEBUG", "") in {"1", "true", "yes"},
            report_min_cell=_positive_int(env.get("TALKING_REPORT_MIN_CELL", "10"), "TALKING_REPORT_MIN_CELL"),
            retention_days=_positive_int(env.get("TALKING_RETENTION_DAYS", "365"), "TALKING_RETENTION_DAYS"),
            metrics_token=env.get("TALKING_METRICS_TOKEN") or None,
            log_format=_one_of(env.get("TALKING_LOG_FORMAT", "text").lower(), ("text", "json"), "TALKING_LOG_FORMAT"),
            rate_limits=_on_or_off(env.get("TALKING_RATE_LIMITS", "on"), "TALKING_RATE_LIMITS"),
            rate_limit_submit=env.get("TALKING_RATE_LIMIT_SUBMIT") or cls().rate_limit_submit,
            rate_limit_sign_in=env.get("TALKING_RATE_LIMIT_SIGN_IN") or cls().rate_limit_sign_in,
            rate_limit_join=env.get("TALKING_RATE_LIMIT_JOIN") or cls().rate_limit_join,
            rate_limit_staff_api=env.get("TALKING_RATE_LIMIT_STAFF_API") or cls().rate_limit_staff_api,
            trusted_proxies=tuple(p.strip() for p in env.get("TALKING_TRUSTED_PROXIES", "").split(",") if p.strip()),
            smtp_url=env.get("TALKING_SMTP_URL") or None,
            mail_from=env.get("TALKING_MAIL_FROM") or DEFAULT_MAIL_FROM,
            mail_reply_to=env.get("TALKING_MAIL_REPLY_TO") or None,
            mail_rate=_positive_int(env.get("TALKING_MAIL_RATE", "50"), "TALKING_MAIL_RATE"),
            mail_dir=Path(env.get("TALKING_MAIL_DIR") or DEFAULT_VAR_DIR / "mail"),
            mail_retention_days=_positive_int(
                env.get("TALKING_MAIL_RETENTION_DAYS", "30"), "TALKING_MAIL_RETENTION_DAYS"
            ),
            base_url=_web_address(env.get("TALKING_BASE_URL") or f"http://{host}:{port}", "TALKING_BASE_URL"),
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


def _web_address(text: str, name: str) -> str:
    """An http(s) address with no trailing slash, or a clear error naming the variable."""
    value = text.strip().rstrip("/")
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value) or "?" in value:
        raise ValueError(f"{name} must be the service's address, like https://talking.example.gov.uk, not {text!r}")
    return value


def _one_of(text: str, allowed: tuple[str, ...], name: str) -> str:
    """One of the allowed words, or a clear error naming the variable."""
    if text not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {text!r}")
    return text


def _on_or_off(text: str, name: str) -> bool:
    """``on`` or ``off`` (and the usual spellings of each), or a clear error naming the variable."""
    value = text.strip().lower()
    if value in {"on", "1", "true", "yes"}:
        return True
    if value in {"off", "0", "false", "no"}:
        return False
    raise ValueError(f"{name} must be on or off, not {text!r}")


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
