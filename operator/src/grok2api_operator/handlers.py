"""kopf handlers for ``GrokToken``: register, refresh and remove pool accounts.

Handlers are registered into a registry built per run (``register``), so tests and the CLI
never share kopf's process-wide default registry. The pool client, the Kubernetes
connection, this replica's peering identity (``memo.identity``) and ``memo.retry_delay``
(seconds before a failed change or deletion is retried) arrive through kopf's ``memo``
(see ``main.run``). Every handler is idempotent: kopf may call a handler more than once,
and a replica taking over from another one resumes every object.

Secret rotation: the periodic refresh reads the Secret again and looks the credential up
among this object's accounts; a credential the pool does not hold there is registered and
the account it replaces removed. So no watch on Secrets (and no RBAC to list them) is needed.

Stopping: the refresh timers are tracked in ``memo.timers`` and a cleanup handler ends those
kopf leaves running when the operator stops (see ``timer_tasks``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kopf
from grok2api_poolclient import accounts, errors, leases
from grok2api_poolclient.client import PoolClient

from . import events, kubeapi, resources
from . import status as status_fields
from .errors import CredentialUnavailable

DEFAULT_SECRET_KEY = "sso"


def register(registry: kopf.OperatorRegistry, *, refresh_interval: float) -> None:
    """Add the login, change, deletion, refresh and cleanup handlers to ``registry``."""
    target = (resources.GROUP, resources.VERSION, resources.PLURAL)
    kopf.on.login(registry=registry)(kubeapi.login)
    for on_cause in (kopf.on.create, kopf.on.update, kopf.on.resume):
        on_cause(*target, registry=registry, id="sync")(sync_account)
    kopf.on.delete(*target, registry=registry, id="remove")(remove_account)
    kopf.timer(
        *target, registry=registry, id="refresh",
        interval=refresh_interval, initial_delay=_tracked_first_delay(refresh_interval),
    )(refresh_account)
    kopf.on.cleanup(registry=registry, id="end-refresh-timers")(end_refresh_timers)


def _tracked_first_delay(refresh_interval: float) -> Callable[..., float]:
    """The first refresh waits one interval (the sync has just run). kopf asks for this
    delay from the timer's own task as the timer starts, the one step every timer takes
    before it first sleeps, so that is where its task is tracked."""

    def first_delay(*, memo: kopf.Memo, **_: Any) -> float:
        memo.timers.track_current()
        return refresh_interval

    return first_delay


async def sync_account(**kwargs: Any) -> None:
    """Upsert the account the spec declares and mirror it into status.

    The account is marked with the reserved tag ``k8s:<namespace>/<name>``
    (``accounts.managed_tag``) after the spec's own tags: the admin API and the CLI read
    it and refuse to edit the account, since this object is its source of truth.
    """
    await _reconcile(apply_spec=True, **kwargs)


async def refresh_account(**kwargs: Any) -> None:
    """Mirror the account's live state; register it again when the Secret holds another
    credential (rotation) or the account is gone from the pool."""
    await _reconcile(apply_spec=False, **kwargs)


async def end_refresh_timers(*, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """At stop, after kopf's workers have finished: cancel the refresh timers still running,
    which kopf would otherwise leave refreshing for 5 s before it cancels them itself."""
    ended = await memo.timers.cancel_all()
    if ended:
        logger.info(f"refresh timers left running at stop were cancelled count={ended}")


async def remove_account(
    *, body: kopf.Body, namespace: str | None, name: str | None, memo: kopf.Memo,
    logger: kopf.Logger, **_: Any,
) -> None:
    """Remove the object's accounts (found by its mark) from the pool; kopf holds the
    finalizer until this succeeds."""
    marker = accounts.managed_tag(namespace=namespace or "default", name=name or "")
    try:
        owned = [a.account_id for a in await _owned(memo.pool, marker=marker)]
        for account_id in owned:
            await _remove_quietly(memo.pool, account_id)
    except errors.PoolError as exc:
        raise kopf.TemporaryError(f"token pool: {exc}", delay=memo.retry_delay) from exc
    for account_id in owned:
        events.announce_removal(body, account_id=account_id)
        logger.info(f"account removed account_id={account_id} operator={memo.identity}")


async def _reconcile(
    *, apply_spec: bool, spec: kopf.Spec, status: kopf.Status, meta: kopf.Meta,
    body: kopf.Body, namespace: str | None, name: str | None, patch: kopf.Patch,
    memo: kopf.Memo, logger: kopf.Logger, **_: Any,
) -> None:
    actor = status_fields.Actor(operator=memo.identity, generation=meta.get("generation"))
    ref = spec.get("credentialSecretRef") or {}

    def fail(message: str, *, reason: str, credential_ok: bool, credential: str = "") -> str:
        written = status_fields.failed(
            message, reason=reason, credential_ok=credential_ok, actor=actor,
            previous=status, credential=credential or None,
        )  # fmt: skip
        patch.status.update(written)
        events.announce_change(body, before=status, after=written)
        return str(written["message"])

    try:
        credential = await kubeapi.read_secret_value(
            memo.connection, namespace=namespace or "default",
            name=ref.get("name", ""), key=ref.get("key") or DEFAULT_SECRET_KEY,
        )
    except CredentialUnavailable as exc:
        message = fail(str(exc), reason="SecretUnavailable", credential_ok=False)
        raise kopf.TemporaryError(message, delay=memo.retry_delay) from exc
    marker = accounts.managed_tag(namespace=namespace or "default", name=name or "")
    try:
        found = await _find(memo.pool, credential=credential, marker=marker)
        if apply_spec or found is None:
            account = await _upsert(
                memo.pool, spec=spec, credential=credential, marker=marker, current=found
            )
        else:
            account = found
        # Accounts of an earlier credential are no longer declared. They are found by this
        # object's mark, not by status.accountId, which a handler may see stale.
        for replaced in await _owned(memo.pool, marker=marker):
            if replaced.account_id != account.account_id:
                await _remove_quietly(memo.pool, replaced.account_id)
                events.announce_rotation(
                    body, old_account=replaced.account_id, new_account=account.account_id
                )
    except (errors.InvalidRequest, ValueError) as exc:
        message = fail(f"rejected: {exc}", reason="CredentialRejected", credential_ok=False,
                       credential=credential)  # fmt: skip
        # The cause may quote the credential, so it is not chained.
        raise kopf.PermanentError(message) from None
    except errors.PoolError as exc:
        message = fail(f"token pool: {exc}", reason="PoolUnavailable", credential_ok=True,
                       credential=credential)  # fmt: skip
        raise kopf.TemporaryError(message, delay=memo.retry_delay) from None
    written = status_fields.from_account(account, actor=actor, previous=status)
    patch.status.update(written)
    events.announce_change(body, before=status, after=written)
    logger.info(
        f"account synced account_id={account.account_id} state={account.status} "
        f"operator={memo.identity}"
    )


async def _find(pool: PoolClient, *, credential: str, marker: str) -> accounts.Account | None:
    """This object's account holding ``credential``, or None (new, rotated, or removed)."""
    page = await pool.list_accounts(tag=marker, search=credential, page_size=1)
    return page.accounts[0] if page.accounts else None


async def _owned(pool: PoolClient, *, marker: str) -> list[accounts.Account]:
    """Every account carrying this object's mark (normally one)."""
    found: list[accounts.Account] = []
    token = ""
    while True:
        page = await pool.list_accounts(tag=marker, page_token=token)
        found += page.accounts
        token = page.next_page_token
        if not token:
            return found


async def _upsert(
    pool: PoolClient, *, spec: kopf.Spec, credential: str, marker: str,
    current: accounts.Account | None,
) -> accounts.Account:
    tier = spec.get("tier")
    wanted = bool(spec.get("enabled", True))
    # a spec cannot claim another object's mark
    declared = [t for t in spec.get("tags") or () if not t.startswith(accounts.MANAGED_TAG_PREFIX)]
    return await pool.upsert_account(
        credential=credential,
        tier=leases.Tier(tier) if tier else None,
        # Sending enabled=True clears the account's failures and an invalid status in the
        # pool, so it is sent only when it changes: a resumed operator must not revive a
        # credential grok.com rejected.
        enabled=wanted if current is None or current.enabled != wanted else None,
        tags=(*declared, marker),
        note=spec.get("note") or "",
    )


async def _remove_quietly(pool: PoolClient, account_id: str) -> None:
    """Remove ``account_id``; an account already gone counts as removed."""
    try:
        await pool.remove_account(account_id)
    except errors.AccountNotFound:
        pass
