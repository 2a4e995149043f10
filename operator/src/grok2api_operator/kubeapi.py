"""The operator's own reads from the Kubernetes API: logging in and fetching Secrets.

kopf keeps its API session private, so the Secret read goes through aiohttp with the same
``kopf.ConnectionInfo`` the login handler produced (its public ``as_*`` helpers carry TLS
and auth), held in a ``Connection`` that every per-object memo shares.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import logging
import os
from typing import Any

import aiohttp
import kopf

from .errors import CredentialUnavailable, OperatorError

# Tests point the operator at an in-memory API server (kmock); read when login runs, not at
# import, because the kubernetes tooling reads its own environment at import time.
API_URL_ENV = "GROK2API_KUBE_API_URL"
# Names the operator's own requests in the API server's audit log.
USER_AGENT = "grok2api-operator"

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Connection:
    """Mutable holder of the current login, replaced when kopf logs in again."""

    info: kopf.ConnectionInfo | None = None
    logged_in: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


def login(
    *, settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any
) -> kopf.ConnectionInfo | None:
    """``GROK2API_KUBE_API_URL`` if set, else the in-cluster service account, else kubeconfig.

    The result is also kept in ``memo.connection`` for the operator's own Secret reads.
    """
    url = os.environ.get(API_URL_ENV, "")
    if url:
        info: kopf.ConnectionInfo | None = kopf.ConnectionInfo(server=url)
    else:
        info = kopf.login_with_service_account(settings=settings, **kwargs) or (
            kopf.login_with_kubeconfig(settings=settings, **kwargs)
        )
    memo.connection.info = info
    if info is not None:
        memo.connection.logged_in.set()
    log.info("kubernetes login server=%s", info.server if info else "none")
    return info


async def peering_exists(connection: Connection, *, name: str) -> bool:
    """Whether the ClusterKopfPeering ``name`` exists (a list, which the RBAC rules allow
    for kopf's own watch; a get would need one more verb)."""
    info = connection.info
    if info is None:
        raise OperatorError("not logged in to the Kubernetes API yet")
    url = f"{info.server.rstrip('/')}/apis/kopf.dev/v1/clusterkopfpeerings"
    try:
        async with _session(info) as session, session.get(
            url, params={"fieldSelector": f"metadata.name={name}"}
        ) as response:
            if response.status == 404:  # the CRD itself is not installed
                return False
            if response.status >= 400:
                raise OperatorError(f"listing ClusterKopfPeerings: the API answered "
                                    f"{response.status}")  # fmt: skip
            body = await response.json()
    except aiohttp.ClientError as exc:
        raise OperatorError(f"listing ClusterKopfPeerings: {type(exc).__name__}") from exc
    return any(item.get("metadata", {}).get("name") == name for item in body.get("items", ()))


def _session(info: kopf.ConnectionInfo) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=info.as_ssl_context()),
        headers={**info.as_http_headers(), "User-Agent": USER_AGENT},
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def read_secret_value(
    connection: Connection, *, namespace: str, name: str, key: str
) -> str:
    """The decoded ``data[key]`` of Secret ``namespace/name``; raises ``CredentialUnavailable``."""
    info = connection.info
    if info is None:
        raise CredentialUnavailable("not logged in to the Kubernetes API yet")
    url = f"{info.server.rstrip('/')}/api/v1/namespaces/{namespace}/secrets/{name}"
    where = f"secret {namespace}/{name}"
    try:
        async with _session(info) as session, session.get(url) as response:
            if response.status == 404:
                raise CredentialUnavailable(f"{where} not found")
            if response.status >= 400:
                raise CredentialUnavailable(f"{where}: the API answered {response.status}")
            body = await response.json()
    except aiohttp.ClientError as exc:
        raise CredentialUnavailable(f"{where}: {type(exc).__name__}") from exc
    encoded = (body.get("data") or {}).get(key)
    if not encoded:
        raise CredentialUnavailable(f"{where} has no key {key!r}")
    try:
        value = base64.b64decode(encoded, validate=True).decode().strip()
    except (binascii.Error, UnicodeDecodeError):
        # The cause would quote the encoded credential; leave it out.
        raise CredentialUnavailable(f"{where} key {key!r} is not valid base64 text") from None
    if not value:
        raise CredentialUnavailable(f"{where} key {key!r} is empty")
    return value
