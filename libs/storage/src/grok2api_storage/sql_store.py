"""The SQL store: SQLite, MySQL/MariaDB or PostgreSQL through SQLAlchemy async."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from . import (
    accounts,
    audit,
    client_keys,
    crypto,
    egresses,
    engine,
    migrate,
    records,
    settings_overrides,
    urls,
    usage,
)


class SqlStore:
    """Implements ``protocols.Store``. Build it with ``factory.open_store``."""

    def __init__(self, *, location: urls.StoreLocation, cipher: crypto.CredentialCipher) -> None:
        self.location = location
        self.database = engine.Database(engine=engine.build_engine(location), location=location)
        self.accounts = accounts.SqlAccountStore(db=self.database, cipher=cipher)
        self.client_keys = client_keys.SqlClientKeyStore(db=self.database)
        self.settings_overrides = settings_overrides.SqlSettingsOverrideStore(db=self.database)
        self.usage = usage.SqlUsageStore(db=self.database)
        self.audit = audit.SqlAuditStore(db=self.database)
        self.egresses = egresses.SqlEgressStore(db=self.database, cipher=cipher)

    def __repr__(self) -> str:
        return f"SqlStore({self.location.display})"

    async def migrate(self) -> records.SchemaMigration:
        return await migrate.upgrade(self.database)

    async def migrate_to(self, revision: str) -> records.SchemaMigration:
        """Upgrade to a given revision only (tests use it to build an older schema)."""
        return await migrate.upgrade(self.database, revision=revision)

    async def schema_version(self) -> str | None:
        return await migrate.current_revision(self.database)

    async def schema_is_current(self) -> bool:
        """Whether ``migrate`` has nothing to do (checked without importing Alembic)."""
        return await migrate.is_current(self.database)

    async def ping(self) -> None:
        await self.database.ping()

    async def aclose(self) -> None:
        await self.database.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
