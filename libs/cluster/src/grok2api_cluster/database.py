"""A PostgreSQL database of the deployment's own on the machine's server, dropped at the end."""

from __future__ import annotations

import asyncio

import asyncpg

PG_HOST, PG_PORT = "127.0.0.1", 5432


async def _admin() -> asyncpg.Connection:
    last: Exception | None = None
    for user in ("postgres", "root"):  # Debian's server trusts one of them on loopback
        try:
            return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=user, database="test")
        except (asyncpg.PostgresError, OSError) as exc:
            last = exc
    raise RuntimeError(f"PostgreSQL on {PG_HOST}:{PG_PORT} refused users postgres and root: "
                       f"is it running?") from last  # fmt: skip


async def _create(name: str) -> str:
    conn = await _admin()
    try:
        user = conn.get_settings().session_authorization or "postgres"
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"


async def _drop(name: str) -> None:
    conn = await _admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def create(name: str) -> str:
    """Create database ``name``; its URL."""
    return asyncio.run(_create(name))


def drop(name: str) -> None:
    asyncio.run(_drop(name))
