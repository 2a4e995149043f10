"""Which durable store the settings name, as a fingerprint two processes can compare.

A token pool publishes the fingerprint of its store and the command line compares it with
its own before it writes, so two grok2api instances on one machine cannot mix up their
accounts. Equal fingerprints mean the same store whatever the spelling of the settings:
the location is canonical (an absolute SQLite path with symlinks resolved; lowercased host,
explicit default port, database and user of a server URL). Neither the password nor query
options such as ``charset`` enter it, so rotating a password keeps the fingerprint.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from grok2api_settings import Settings
from sqlalchemy.engine import make_url

from . import urls

_DEFAULT_PORTS = {"mysql": 3306, "pgsql": 5432, "redis": 6379}
# Versioned so that a change of the canonical form can never make two stores look equal.
_DOMAIN = "grok2api store identity v1"


@dataclasses.dataclass(frozen=True)
class StoreIdentity:
    """A store as its settings name it: ``location`` holds no password and is safe to show."""

    storage_type: str
    location: str

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of the type and the canonical location."""
        text = f"{_DOMAIN}\n{self.storage_type}\n{self.location}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def identify(settings: Settings) -> StoreIdentity:
    """The identity of the store ``settings`` name; ``StorageConfigError`` if they are unusable."""
    location = urls.resolve_location(settings)
    if location.kind == "redis":
        canonical = _redis_location(location.url)
    else:
        canonical = _sql_location(location.url, storage_type=location.storage_type)
    return StoreIdentity(storage_type=location.storage_type, location=canonical)


def _sql_location(url: str, *, storage_type: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            database = str(Path(database).expanduser().resolve())
        return f"sqlite:{database}"
    host = (parsed.host or "").lower()
    port = parsed.port or _DEFAULT_PORTS.get(storage_type, 0)
    user = parsed.username or ""
    return f"{parsed.drivername}://{user}@{host}:{port}/{parsed.database or ''}"


def _redis_location(url: str) -> str:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    user = parts.username or ""
    if parts.scheme == "unix":
        db = query.get("db", ["0"])[0]
        return f"unix://{user}@{Path(parts.path).resolve()}?db={db}"
    db = parts.path.strip("/") or query.get("db", ["0"])[0]
    host = (parts.hostname or "").lower()
    return f"{parts.scheme}://{user}@{host}:{parts.port or _DEFAULT_PORTS['redis']}/{db}"
