"""One turn that can be continued later, and continues an earlier one (protocol §6.4):
the entry point the Responses API (``previous_response_id``) calls.

``run_turn`` looks the previous response's local id up in the continuation store, leases
the account that holds its upstream conversation (pinned: never another account, see
``grok2api_poolclient.leasing``), sends the continuation (REST §3.2 or mgw §6.2, as
``network.chat_protocol`` says) and, when the upstream's ``Final`` passes, stores the new
turn under its own local id for ``cache.continuation_ttl_seconds``, before the consumer
sees that ``Final``: a follow-up sent the moment the answer ends finds it. A store that
fails at that point is logged and the answer still delivered (the upstream already
answered and charged the quota); a later turn naming it gets "not found".

Errors, besides those of ``service.upstream_events``:

    errors.InvalidRequest     the previous response is unknown or expired, or its account
                              has left the pool (param ``previous_response_id``)
    errors.StoreUnavailable   the continuation store (Redis) cannot be reached to read the
                              previous response, or the gateway keeps none
    pool PoolExhausted        the holding account cannot be leased now (cooling, busy, out
                              of quota, disabled): its reason and retry time
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Sequence

from grok2api_conversations import ConversationStore, StoredTurn, StoreUnavailableError
from grok2api_poolclient import errors as pool_errors
from grok2api_poolclient import leases
from grok_web import chat as grok_chat
from grok_web import events as ev

from .. import errors
from . import plan, service

log = logging.getLogger(__name__)

PARAM = "previous_response_id"


async def run_turn(
    *,
    deps: service.Deps,
    plan_: plan.Plan,
    request_id: str,
    response_id: str,
    previous_response_id: str | None = None,
) -> AsyncGenerator[Sequence[object], None]:
    """The upstream events of one turn in batches, as ``service.upstream_events`` yields
    them; ``response_id`` is the local id the caller gives this turn's response (what a
    later turn names as its ``previous_response_id``). The caller closes the generator."""
    store = deps.conversations
    if store is None:
        raise errors.StoreUnavailable("this gateway keeps no continuation state")
    continuation, account_id = None, ""
    if previous_response_id:
        previous = await _get(store, previous_response_id)
        continuation = grok_chat.Continuation(
            conversation_id=previous.conversation_id, parent_response_id=previous.response_id
        )
        account_id = previous.account_id
    used: list[leases.Lease] = []
    events = await service.upstream_events(
        deps=deps, plan_=plan_, request_id=request_id, continuation=continuation,
        account_id=account_id, on_lease=used.append,
    )  # fmt: skip
    try:
        async for batch in events:
            final = next((e for e in batch if isinstance(e, ev.Final)), None)
            if final is not None:
                await _remember(deps, store, response_id, final, used[-1], plan_.model)
            yield batch
    except pool_errors.AccountNotFound as exc:
        raise errors.InvalidRequest(
            f"The account holding the conversation of response '{previous_response_id}' has "
            "left the pool; start a new conversation.",
            param=PARAM,
        ) from exc
    finally:
        await events.aclose()


async def _get(store: ConversationStore, previous_response_id: str) -> StoredTurn:
    try:
        previous = await store.get(previous_response_id)
    except StoreUnavailableError as exc:
        raise errors.StoreUnavailable(str(exc)) from exc
    if previous is None:
        raise errors.InvalidRequest(
            f"Previous response with id '{previous_response_id}' not found.", param=PARAM
        )
    return previous


async def _remember(
    deps: service.Deps,
    store: ConversationStore,
    response_id: str,
    final: ev.Final,
    lease: leases.Lease,
    model: str,
) -> None:
    if not (final.conversation_id and final.response_id):
        # nothing to continue from: a later turn naming this one gets "not found"
        log.warning("continuation_not_stored response=%s: the upstream named no conversation "
                    "or response id", response_id)  # fmt: skip
        return
    turn = StoredTurn(
        conversation_id=final.conversation_id,
        response_id=final.response_id,
        account_id=lease.account_id,
        model=model,
    )
    ttl = deps.settings.current.cache.continuation_ttl_seconds
    try:
        await store.put(response_id, turn, ttl_seconds=ttl)
    except StoreUnavailableError as exc:
        log.error("continuation_not_stored response=%s error=%s", response_id, exc)
