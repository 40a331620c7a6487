"""Limits on abuse: how many requests of a kind one client may make in a window, shared by every worker.

A route declares one line, ``await request.app.state.rate_limiter.hit(SUBMIT, request.scope)``;
over the limit it raises ``RateLimited``, which talking.problems answers with 429 and ``Retry-After``
(problem details on the API, a page for people). The ``limits`` library does the counting (its
fixed-window strategy: one atomic increment per request, the cheapest it has); the counts live in
Redis when ``TALKING_REDIS_URL`` is set, else in a file beside an SQLite database or a PostgreSQL
table (storage.py), else (an in-memory database, in tests) in the process.

A client is its address (an IPv6 address by its /64, which one household holds), believed from
``X-Forwarded-For`` only when the direct peer is a listed proxy, or its staff API token.
If the counts cannot be reached the request goes through: a limit must not take the service down.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from talking.principal import Principal
from talking.rate_limits.storage import PostgresCounts, SQLiteFileCounts, limits_path

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from talking.settings import Settings

log = logging.getLogger(__name__)

# The named limits; a new route that needs one adds a name here and a setting in settings.py.
SUBMIT = "submit"  # a resident's answers: the API and the pages' final step
SIGN_IN = "sign-in"  # POST /sign-in, per address (auth/services.py also throttles per email)
JOIN = "join"  # the resident panel's sign-up (issue 14)
STAFF_API = "staff-api"  # every request made with a staff API token, per token

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RateLimited(Exception):
    """Too many requests of this kind from this client: try again after ``retry_after`` seconds."""

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(f"too many {limit} requests; retry after {retry_after} s")
        self.limit = limit
        self.retry_after = retry_after


class RateLimiter:
    """The app's named limits over one shared storage; ``hit`` counts a request or refuses it."""

    def __init__(
        self,
        limits: dict[str, tuple[RateLimitItem, ...]],
        storage: Storage | None,
        trusted_proxies: tuple[IPNetwork, ...] = (),
    ) -> None:
        self.limits = limits
        self.storage = storage
        self.trusted_proxies = trusted_proxies
        self._strategy = FixedWindowRateLimiter(storage) if storage is not None else None
        self._failing_since = 0.0

    @property
    def enabled(self) -> bool:
        """Whether limits are on (``TALKING_RATE_LIMITS`` is not ``off``)."""
        return self._strategy is not None

    async def hit(self, limit: str, scope: Any) -> None:
        """Count one request of ``limit`` from this request's client; raise RateLimited if it is one too many."""
        if self._strategy is None:
            return
        client = client_key(scope, self.trusted_proxies)
        for item in self.limits[limit]:
            try:
                if await self._strategy.hit(item, limit, client):
                    continue
                reset = await self._strategy.get_window_stats(item, limit, client)
            except Exception:
                self._storage_failed()
                return
            raise RateLimited(limit, max(1, math.ceil(reset.reset_time - time.time())))

    def _storage_failed(self) -> None:
        """Let the request through, and say so in the log at most once a minute."""
        now = time.monotonic()
        if now - self._failing_since > 60:
            self._failing_since = now
            log.exception("rate limit counts out of reach: requests go through unlimited")

    async def close(self) -> None:
        """Let go of the storage's connections."""
        if isinstance(self.storage, SQLiteFileCounts):
            self.storage.close()
        elif isinstance(self.storage, RedisStorage):
            await self.storage.bridge.storage.aclose()  # type: ignore[attr-defined]


def parse_limits(text: str, name: str) -> tuple[RateLimitItem, ...]:
    """Limits as ``limits`` reads them ("60/minute", "20/minute;200/hour"), or a clear error naming the setting."""
    try:
        parsed = tuple(parse_many(text))
    except ValueError:
        parsed = ()
    if not parsed:
        raise ValueError(f'{name} must be limits such as "60/minute" or "20/minute;200/hour", not {text!r}')
    return parsed


def counts_storage(settings: Settings, engine: AsyncEngine) -> Storage:
    """Redis when configured; else a file beside SQLite, PostgreSQL's table, or (in-memory SQLite) the process."""
    if settings.redis_url:
        # Named by the database served, so two deployments (or test runs) sharing one Redis count apart.
        served = hashlib.sha256(engine.url.render_as_string(hide_password=True).encode()).hexdigest()[:12]
        prefix = f"talking_limits:{served}"
        return RedisStorage(f"async+{settings.redis_url}", implementation="redispy", key_prefix=prefix)
    if engine.dialect.name == "postgresql":
        return PostgresCounts(engine)
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        return SQLiteFileCounts(limits_path(database))
    return MemoryStorage()


def rate_limiter(settings: Settings, engine: AsyncEngine) -> RateLimiter:
    """The app's limiter for these settings; with ``TALKING_RATE_LIMITS=off`` it counts nothing."""
    limits = {
        SUBMIT: parse_limits(settings.rate_limit_submit, "TALKING_RATE_LIMIT_SUBMIT"),
        SIGN_IN: parse_limits(settings.rate_limit_sign_in, "TALKING_RATE_LIMIT_SIGN_IN"),
        JOIN: parse_limits(settings.rate_limit_join, "TALKING_RATE_LIMIT_JOIN"),
        STAFF_API: parse_limits(settings.rate_limit_staff_api, "TALKING_RATE_LIMIT_STAFF_API"),
    }
    storage = counts_storage(settings, engine) if settings.rate_limits else None
    return RateLimiter(limits, storage, trusted_networks(settings.trusted_proxies))


def trusted_networks(addresses: Iterable[str]) -> tuple[IPNetwork, ...]:
    """The proxies' addresses or CIDR blocks (``TALKING_TRUSTED_PROXIES``), or a clear error."""
    networks = []
    for address in addresses:
        try:
            networks.append(ipaddress.ip_network(address.strip(), strict=False))
        except ValueError:
            raise ValueError(f"TALKING_TRUSTED_PROXIES: {address!r} is not an IP address or network") from None
    return tuple(networks)


def client_address(scope: Any, trusted: tuple[IPNetwork, ...]) -> str:
    """The address a request came from: the peer, or behind listed proxies the right-most address they did not add.

    ``X-Forwarded-For`` is believed only as far back as it is written by trusted proxies: each
    proxy appends the address it saw, so reading from the right, the first address that is not a
    listed proxy is the client's (anything to its left the client could have written itself).
    """
    client = scope.get("client")
    peer = client[0] if client else ""
    if not trusted or not _is_trusted(peer, trusted):
        return _as_key(peer)
    forwarded = [
        part.strip()
        for name, value in scope["headers"]
        if name == b"x-forwarded-for"
        for part in value.decode("latin-1").split(",")
    ]
    for address in reversed(forwarded):
        if not _is_trusted(address, trusted):
            return _as_key(address)
    return _as_key(forwarded[0] if forwarded else peer)


def client_key(scope: Any, trusted: tuple[IPNetwork, ...]) -> str:
    """Who a limit counts: a staff API token by its id, anyone else by their address."""
    user = scope.get("user")
    if isinstance(user, Principal) and user.via == "token" and user.token_id is not None:
        return f"token:{user.token_id}"
    return client_address(scope, trusted)


def _is_trusted(address: str, trusted: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


@functools.lru_cache(maxsize=4096)  # the same few addresses come again and again; parsing one costs microseconds
def _as_key(address: str) -> str:
    """An address as a limit counts it: IPv4 as it is, IPv6 by its /64 (one household's, which it may vary)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"  # a unix socket, or garbage from a proxy: one bucket for all such
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
