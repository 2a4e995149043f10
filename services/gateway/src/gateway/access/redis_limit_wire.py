"""The batch script's runs for one ``RedisLimitStore``: over one connection the store takes
from the client's pool and keeps (its runs are sequential), as an EVALSHA whose fixed part
is RESP-encoded once, so only the batch's JSON is new per run. The client's retry policy for
a broken connection still applies, and a Redis that lost the script gets it again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from redis.asyncio.connection import AbstractConnection as Connection

from . import redis_limit_script


def _packed(*args: object) -> bytes:
    """``args`` as the head of a RESP command of ``len(args) + 1`` arguments, the last (the
    batch) to follow as one bulk string."""
    parts = [b"*%d\r\n" % (len(args) + 1)]
    for arg in args:
        encoded = str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(encoded), encoded))
    return b"".join(parts)


class ScriptWire:
    def __init__(self, redis: aioredis.Redis, header: Sequence[object]) -> None:
        """``header``: the script's ARGV before the batch (``redis_limit_script``)."""
        self._redis = redis
        sha = redis.register_script(redis_limit_script.BATCH).sha
        self._evalsha = _packed("EVALSHA", sha, 0, *header)
        self.connection: Connection | None = None
        """The connection held between runs (None before the first and after ``release``)."""

    async def run(self, ops: list[list[Any]]) -> list[Any]:
        """One script run of ``ops``, in order; one answer per operation."""
        batch = orjson.dumps(ops)
        command = (self._evalsha, b"$%d\r\n" % len(batch), batch, b"\r\n")
        try:
            return await self._send(command)
        except redis_errors.NoScriptError:  # a Redis restarted or flushed since the last run
            await self._redis.script_load(redis_limit_script.BATCH)
            return await self._send(command)

    async def _send(self, command: tuple[bytes, ...]) -> Any:
        held = self.connection
        if held is None:
            held = self.connection = await self._redis.connection_pool.get_connection()
        if await held.can_read():
            # Closed by the server while idle (a restart, a proxy's timeout), or holding
            # unread data: reconnect at the send, as the pool checks a connection it hands out.
            await held.disconnect()

        async def attempt() -> Any:
            # A send or read that fails or is cancelled disconnects the connection (redis-py
            # does so itself); the next attempt or run connects it again.
            await held.send_packed_command(command)  # with the health check, if configured
            return await held.read_response()

        async def broken(error: Exception) -> None:
            await held.disconnect()

        return await held.retry.call_with_retry(attempt, broken)

    async def release(self) -> None:
        """Give the held connection back to the client's pool."""
        connection, self.connection = self.connection, None
        if connection is not None:
            await self._redis.connection_pool.release(connection)
