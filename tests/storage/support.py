"""Helpers of the storage contract suite.

``store`` is parametrised over the four backends on this machine: SQLite (a file under
pytest's temporary directory), PostgreSQL and MariaDB (a database created for this run
and dropped at its end), and Redis (a key prefix unique to each test, deleted after it).
The servers are the ones TOOLING.md lists; a server that is down fails these tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiomysql
import asyncpg
import redis.asyncio as redis_asyncio
from grok2api_settings import Settings
from grok2api_storage import crypto, factory, protocols, sql_store
from grok2api_storage.redis_store import RedisStore

RUN_ID = uuid.uuid4().hex[:10]
BACKENDS = ("sqlite", "postgres", "mariadb", "redis")
SQL_BACKENDS = ("sqlite", "postgres", "mariadb")
PG_HOST, PG_PORT, MYSQL_HOST, MYSQL_PORT = "127.0.0.1", 5432, "127.0.0.1", 3306
REDIS_URL = "redis://127.0.0.1:6379/0"
SQL_TABLES = (
    "account_tags",
    "accounts",
    "client_keys",
    "settings_overrides",
    "usage_records",
    "audit_log",
    "egresses",
    "egress_bindings",
)
T = TypeVar("T")


def run_in_thread(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on its own loop in a worker thread, usable from sync and async code
    alike (setup of session-wide databases happens while a test's loop is running)."""

    async def main() -> T:
        return await make()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


async def _pg_admin() -> asyncpg.Connection:
    last: Exception | None = None
    for user in ("postgres", "root"):
        try:
            return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=user, database="test")
        except (asyncpg.PostgresError, OSError) as exc:
            last = exc
    raise RuntimeError(
        f"PostgreSQL on {PG_HOST}:{PG_PORT} refused users postgres and root"
    ) from last


class ServerDatabases:
    """Databases created on the PostgreSQL / MariaDB servers for this run."""

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        self.pg_user = ""
        self.created: list[tuple[str, str]] = []
        self._shared: dict[str, str] = {}

    def settings_for(self, backend: str, url: str, *, data_dir: Path | None = None) -> Settings:
        storage_type = {"sqlite": "local", "postgres": "pgsql", "mariadb": "mysql"}[backend]
        return Settings.model_validate(
            {
                "data_dir": str(data_dir or self.tmp_dir),
                "server": {"storage_type": storage_type, "storage_url": url},
            }
        )

    def fresh(self, backend: str) -> str:
        """The URL of a new, empty database (a new file for SQLite)."""
        name = f"g2a_storage_{RUN_ID}_{uuid.uuid4().hex[:8]}"
        if backend == "sqlite":
            return f"sqlite:///{self.tmp_dir / (name + '.db')}"
        run_in_thread(lambda: self._create(backend, name))
        self.created.append((backend, name))
        if backend == "postgres":
            return f"postgresql://{self.pg_user}@{PG_HOST}:{PG_PORT}/{name}"
        return f"mysql://root@{MYSQL_HOST}:{MYSQL_PORT}/{name}"

    def shared(self, backend: str, cipher: crypto.CredentialCipher) -> str:
        """One migrated database per backend for the whole run (tests empty its tables)."""
        if backend not in self._shared:
            url = self.fresh(backend)
            settings = self.settings_for(backend, url)

            async def migrate() -> None:
                async with await factory.open_store(settings, cipher=cipher) as store:
                    await store.migrate()

            run_in_thread(migrate)
            self._shared[backend] = url
        return self._shared[backend]

    async def _create(self, backend: str, name: str) -> None:
        if backend == "postgres":
            conn = await _pg_admin()
            self.pg_user = conn.get_settings().session_authorization or "postgres"
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
        else:
            conn = await aiomysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root")
            try:
                async with conn.cursor() as cursor:
                    await cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            finally:
                conn.close()

    async def drop_all(self) -> None:
        await asyncio.gather(*(self._drop(backend, name) for backend, name in self.created))

    async def _drop(self, backend: str, name: str) -> None:
        if backend == "postgres":
            conn = await _pg_admin()
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()
        else:
            mconn = await aiomysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root")
            try:
                async with mconn.cursor() as cursor:
                    await cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            finally:
                mconn.close()


def redis_prefix() -> str:
    return f"g2a-test:{RUN_ID}:{uuid.uuid4().hex[:8]}:"


async def delete_prefix(prefix: str) -> None:
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def redis_settings(tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {"data_dir": str(tmp_path), "server": {"storage_type": "redis", "storage_url": REDIS_URL}}
    )


async def raw_contents(store: protocols.Store) -> str:
    """Everything the store holds, as stored (SQL rows, Redis values), as one text."""
    if isinstance(store, RedisStore):
        parts: list[Any] = []
        async for key in store.redis.scan_iter(match=f"{store.keys.prefix}*"):
            kind = await store.redis.type(key)
            if kind == "hash":
                parts.append(await store.redis.hgetall(key))
            elif kind == "string":
                parts.append(await store.redis.get(key))
            elif kind == "zset":
                parts.append(await store.redis.zrange(key, 0, -1))
            elif kind == "set":
                parts.append(await store.redis.smembers(key))
            parts.append(key)
        return repr(parts)
    assert isinstance(store, sql_store.SqlStore)
    rows: list[Any] = []
    async with store.database.engine.connect() as conn:
        for table in SQL_TABLES:
            result = await conn.exec_driver_sql(f"SELECT * FROM {table}")
            rows.extend(tuple(row) for row in result)
    return repr(rows)
