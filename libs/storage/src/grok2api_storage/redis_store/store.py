"""The Redis store (implements ``protocols.Store``)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from redis.asyncio import Redis

from .. import crypto, engine, records, translate, urls
from . import accounts, audit, client_keys, egresses, schema, settings_overrides, usage
from .keys import Keys


class RedisStore:
    """All repositories on one Redis connection pool, every key under ``prefix``."""

    def __init__(
        self, *, location: urls.StoreLocation, cipher: crypto.CredentialCipher, prefix: str
    ) -> None:
        self.location = location
        self.keys = Keys(prefix=prefix)
        self.redis: Redis = Redis.from_url(
            location.url,
            decode_responses=True,
            socket_connect_timeout=engine.CONNECT_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        redis, keys = self.redis, self.keys
        self.accounts = accounts.RedisAccountStore(
            redis=redis, keys=keys, cipher=cipher, location=location
        )
        self.client_keys = client_keys.RedisClientKeyStore(
            redis=redis, keys=keys, location=location
        )
        self.settings_overrides = settings_overrides.RedisSettingsOverrideStore(
            redis=redis, keys=keys, location=location
        )
        self.usage = usage.RedisUsageStore(redis=redis, keys=keys, location=location)
        self.audit = audit.RedisAuditStore(redis=redis, keys=keys, location=location)
        self.egresses = egresses.RedisEgressStore(
            redis=redis, keys=keys, cipher=cipher, location=location
        )

    def __repr__(self) -> str:
        return f"RedisStore({self.location.display}, prefix={self.keys.prefix!r})"

    async def migrate(self) -> records.SchemaMigration:
        async with translate.driver_errors(self.location):
            return await schema.migrate(self.redis, self.keys)

    async def schema_version(self) -> str | None:
        async with translate.driver_errors(self.location):
            return await schema.current_version(self.redis, self.keys)

    async def ping(self) -> None:
        async with translate.driver_errors(self.location, connecting=True):
            await self.redis.ping()

    async def aclose(self) -> None:
        await self.redis.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
