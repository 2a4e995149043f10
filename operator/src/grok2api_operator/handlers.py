"""kopf handlers for ``GrokToken``: register, refresh and remove pool accounts.

Handlers are registered into a registry built per run (``register``), so tests and the CLI
never share kopf's process-wide default registry. The pool client and the Kubernetes
connection arrive through kopf's ``memo`` (see ``main.run``), with ``memo.retry_delay``, the
seconds before a failed change or deletion is retried. Every handler is idempotent:
an upsert by credential converges, and kopf may call a handler more than once.
"""

from __future__ import annotations

from typing import Any

import kopf
from grok2api_poolclient import accounts, errors, leases
from grok2api_poolclient.client import PoolClient

from . import kubeapi, resources
from . import status as status_fields
from .errors import CredentialUnavailable

DEFAULT_SECRET_KEY = "sso"


def register(registry: kopf.OperatorRegistry, *, refresh_interval: float) -> None:
    """Add the login, change, deletion and refresh handlers to ``registry``."""
    target = (resources.GROUP, resources.VERSION, resources.PLURAL)
    kopf.on.login(registry=registry)(kubeapi.login)
    for on_cause in (kopf.on.create, kopf.on.update, kopf.on.resume):
        on_cause(*target, registry=registry, id="sync")(sync_account)
    kopf.on.delete(*target, registry=registry, id="remove")(remove_account)
    kopf.timer(
        *target, registry=registry, id="refresh",
        interval=refresh_interval, initial_delay=refresh_interval,
    )(refresh_account)


async def sync_account(
    *, spec: kopf.Spec, status: kopf.Status, namespace: str | None, name: str | None,
    patch: kopf.Patch, memo: kopf.Memo, logger: kopf.Logger, **_: Any,
) -> None:
    """Upsert the account the spec declares and mirror it into status.

    The account is marked with the reserved tag ``k8s:<namespace>/<name>``
    (``accounts.managed_tag``) after the spec's own tags: the admin API reads it and keeps
    the account read-only there, since this object is its source of truth.
    """
    pool: PoolClient = memo.pool
    ref = spec.get("credentialSecretRef") or {}
    try:
        credential = await kubeapi.read_secret_value(
            memo.connection, namespace=namespace or "default",
            name=ref.get("name", ""), key=ref.get("key") or DEFAULT_SECRET_KEY,
        )
    except CredentialUnavailable as exc:
        patch.status.update(status_fields.failed(str(exc)))
        raise kopf.TemporaryError(str(exc), delay=memo.retry_delay) from exc
    try:
        marker = accounts.managed_tag(namespace=namespace or "default", name=name or "")
        account = await _upsert(pool, spec=spec, credential=credential, marker=marker)
        previous = status.get("accountId")
        if previous and previous != account.account_id:
            # The Secret now holds another credential: the old account is no longer declared.
            await _remove_quietly(pool, previous)
    except (errors.InvalidRequest, ValueError) as exc:
        message = status_fields.scrub(f"rejected: {exc}", credential=credential)
        patch.status.update(status_fields.failed(message))
        # The cause may quote the credential, so it is not chained.
        raise kopf.PermanentError(message) from None
    except errors.PoolError as exc:
        message = status_fields.scrub(f"token pool: {exc}", credential=credential)
        patch.status.update(status_fields.failed(message))
        raise kopf.TemporaryError(message, delay=memo.retry_delay) from None
    patch.status.update(status_fields.from_account(account))
    logger.info(f"account synced account_id={account.account_id} state={account.status}")


async def remove_account(
    *, status: kopf.Status, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """Remove the account from the pool; kopf holds the finalizer until this succeeds."""
    account_id = status.get("accountId")
    if not account_id:
        return
    try:
        await _remove_quietly(memo.pool, account_id)
    except errors.PoolError as exc:
        raise kopf.TemporaryError(f"token pool: {exc}", delay=memo.retry_delay) from exc
    logger.info(f"account removed account_id={account_id}")


async def refresh_account(
    *, spec: kopf.Spec, status: kopf.Status, namespace: str | None, patch: kopf.Patch,
    memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any,
) -> None:
    """Re-read the account's state; re-register it when it is unknown or gone from the pool."""
    account_id = status.get("accountId")
    if account_id:
        try:
            account = await memo.pool.get_account(account_id)
        except errors.AccountNotFound:
            account = None
        except errors.PoolError as exc:
            patch.status.update(status_fields.failed(f"token pool: {exc}"))
            return
        if account is not None:
            patch.status.update(status_fields.from_account(account))
            return
    await sync_account(
        spec=spec, status=status, namespace=namespace, patch=patch, memo=memo, logger=logger,
        **kwargs,
    )  # kwargs carries the object's name


async def _upsert(
    pool: PoolClient, *, spec: kopf.Spec, credential: str, marker: str
) -> accounts.Account:
    tier = spec.get("tier")
    # a spec cannot claim another object's mark
    declared = [t for t in spec.get("tags") or () if not t.startswith(accounts.MANAGED_TAG_PREFIX)]
    return await pool.upsert_account(
        credential=credential,
        tier=leases.Tier(tier) if tier else None,
        enabled=bool(spec.get("enabled", True)),
        tags=(*declared, marker),
        note=spec.get("note") or "",
    )


async def _remove_quietly(pool: PoolClient, account_id: str) -> None:
    """Remove ``account_id``; an account already gone counts as removed."""
    try:
        await pool.remove_account(account_id)
    except errors.AccountNotFound:
        pass
