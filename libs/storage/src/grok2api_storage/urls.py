"""From ``server.storage_type`` / ``server.storage_url`` to a normalised store location.

The seed accepted loose URLs (``mysql://``, ``postgres://``); they are normalised to the
async drivers this package uses, and anything else is refused with a message naming the
setting, never guessed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from grok2api_settings import Settings
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from . import errors, masking

SQLITE_FILE_NAME = "grok2api.db"
StoreKind = Literal["sql", "redis"]

_SQL_DRIVERS: dict[str, tuple[str, frozenset[str]]] = {
    "mysql": (
        "mysql+aiomysql",
        frozenset({"mysql", "mysql+aiomysql", "mariadb", "mariadb+aiomysql"}),
    ),
    "pgsql": (
        "postgresql+asyncpg",
        frozenset({"postgres", "postgresql", "postgresql+asyncpg", "pgsql"}),
    ),
    "local": ("sqlite+aiosqlite", frozenset({"sqlite", "sqlite+aiosqlite"})),
}
_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})


@dataclasses.dataclass(frozen=True)
class StoreLocation:
    """Where the durable store lives. ``url`` may hold a password: show ``display`` instead."""

    storage_type: str
    kind: StoreKind
    url: str = dataclasses.field(repr=False)

    @property
    def display(self) -> str:
        """The URL with its password masked, safe for logs and messages."""
        return masking.mask_url(self.url)


def resolve_location(settings: Settings) -> StoreLocation:
    """Validate and normalise the storage settings; raise ``StorageConfigError`` if unusable."""
    storage_type = settings.server.storage_type
    raw = settings.server.storage_url.strip()
    if storage_type == "redis":
        return StoreLocation(storage_type=storage_type, kind="redis", url=_redis_url(raw))
    if storage_type == "local" and not raw:
        path = Path(settings.data_dir) / SQLITE_FILE_NAME
        url = URL.create("sqlite+aiosqlite", database=str(path))
        return StoreLocation(storage_type=storage_type, kind="sql", url=url.render_as_string(False))
    if storage_type not in _SQL_DRIVERS:
        raise errors.StorageConfigError(
            f"server.storage_type={storage_type!r} is not one of local, mysql, pgsql, redis"
        )
    return StoreLocation(storage_type=storage_type, kind="sql", url=_sql_url(storage_type, raw))


def _sql_url(storage_type: str, raw: str) -> str:
    if not raw:
        raise errors.StorageConfigError(
            f"server.storage_url is empty but server.storage_type={storage_type!r} needs one"
        )
    driver, accepted = _SQL_DRIVERS[storage_type]
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise errors.StorageConfigError(
            f"server.storage_url is not a valid URL: {masking.mask_url(raw)}"
        ) from exc
    if url.drivername not in accepted:
        raise errors.StorageConfigError(
            f"server.storage_url scheme {url.drivername!r} does not match "
            f"server.storage_type={storage_type!r} (expected {driver}://…)"
        )
    url = url.set(drivername=driver)
    if storage_type != "local" and not url.host:
        raise errors.StorageConfigError(f"server.storage_url has no host: {masking.mask_url(raw)}")
    if storage_type == "mysql" and "charset" not in url.query:
        # MariaDB's historical default (latin1) would reject notes with emoji.
        url = url.update_query_dict({"charset": "utf8mb4"})
    if storage_type == "pgsql" and "sslmode" in url.query:
        # libpq spells it sslmode; asyncpg takes the same values as `ssl`.
        query = dict(url.query)
        query["ssl"] = query.pop("sslmode")
        url = url.set(query=query)
    return url.render_as_string(hide_password=False)


def _redis_url(raw: str) -> str:
    if not raw:
        raise errors.StorageConfigError(
            "server.storage_url is empty but server.storage_type='redis' needs one "
            "(redis://host:6379/0)"
        )
    try:
        parts = urlsplit(raw)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise errors.StorageConfigError(
            f"server.storage_url is not a valid Redis URL: {masking.mask_url(raw)}"
        ) from exc
    if parts.scheme not in _REDIS_SCHEMES or not port_ok:
        raise errors.StorageConfigError(
            f"server.storage_url is not a valid Redis URL (redis://, rediss://, unix://): "
            f"{masking.mask_url(raw)}"
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise errors.StorageConfigError(f"server.storage_url has no host: {masking.mask_url(raw)}")
    return raw
