"""Recording the user ids chats discover, off the request path.

An mgw chat needs the account's grok.com user id. A lease carries it once the pool has it
(``Lease.user_id``); a chat made with a lease without one looks it up upstream and reports
it (``grok_web.events.ConversationStarted.user_id``). :class:`UserIdRecorder` then stores
it with ``PoolClient.set_user_id`` in the background: once per account and value in this
process, never delaying or failing the request (a failure is logged, and a later chat
that discovers it again retries). The value itself is never logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from . import client, leases

log = logging.getLogger(__name__)

MAX_REMEMBERED = 10_000


class UserIdRecorder:
    def __init__(self, pool: client.PoolClient, *, max_remembered: int = MAX_REMEMBERED) -> None:
        self._pool = pool
        self._max = max(1, max_remembered)
        self._recorded: OrderedDict[str, str] = OrderedDict()  # account id → user id sent
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"UserIdRecorder(remembered={len(self._recorded)}, pending={len(self._tasks)})"

    def discovered(self, lease: leases.Lease, user_id: str) -> None:
        """A chat made with ``lease`` discovered ``user_id``: store it unless the lease
        already carried it or this process already sent it. Returns at once."""
        if not user_id or user_id == lease.user_id:
            return
        account_id = lease.account_id
        if self._recorded.get(account_id) == user_id:
            return
        self._recorded[account_id] = user_id
        self._recorded.move_to_end(account_id)
        while len(self._recorded) > self._max:
            self._recorded.popitem(last=False)
        task = asyncio.get_running_loop().create_task(
            self._record(account_id, user_id), name="pool-set-user-id"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record(self, account_id: str, user_id: str) -> None:
        try:
            await self._pool.set_user_id(account_id, user_id)
        except Exception as exc:  # never the request's failure; a later discovery retries
            if self._recorded.get(account_id) == user_id:
                del self._recorded[account_id]
            log.warning(
                "user_id_record_failed account=%s error=%s", account_id, type(exc).__name__
            )

    async def drain(self) -> None:
        """Wait for the recordings in flight (tests, orderly shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel the recordings in flight."""
        tasks, self._tasks = set(self._tasks), set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
