"""Run operator replicas in-process against kmock's in-memory Kubernetes API.

The pool is a fake by default (``make_pool``); ``test_token_pool.py`` runs a real token-pool
service over gRPC instead.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import kmock
import pytest
from grok2api_operator import kubeapi, resources
from operator_fakes import FakePool
from operator_harness import PEERING, REFRESH_SECONDS, PoolFactory, Replica

TOKENS = f"/apis/{resources.GROUP}/{resources.VERSION}/namespaces/ns1/{resources.PLURAL}"
SECRETS = "/api/v1/namespaces/ns1/secrets"
PEERINGS = "/apis/kopf.dev/v1/clusterkopfpeerings"
TEST_USER_AGENT = "grok2api-tests"


@pytest.fixture
def k8s(kmock: kmock.KubernetesEmulator) -> kmock.KubernetesEmulator:
    """The emulator with every resource kopf needs declared in full (else it watches nothing)."""
    verbs = {"list", "watch", "get", "create", "patch", "update", "delete"}
    kmock.resources[f"{resources.GROUP}/{resources.VERSION}/{resources.PLURAL}"] = (
        kmock_info(kind=resources.KIND, verbs=verbs, subresources={"status"})
    )
    kmock.resources["v1/secrets"] = kmock_info(kind="Secret", verbs=verbs)
    kmock.resources["v1/events"] = kmock_info(kind="Event", verbs=verbs)
    kmock.resources["v1/namespaces"] = kmock_info(kind="Namespace", verbs=verbs, namespaced=False)
    kmock.resources["kopf.dev/v1/clusterkopfpeerings"] = kmock_info(
        kind="ClusterKopfPeering", verbs=verbs, namespaced=False
    )
    return kmock


def kmock_info(*, kind: str, verbs: set[str], subresources: set[str] | None = None,
               namespaced: bool = True) -> kmock.ResourceInfo:
    return kmock.ResourceInfo(
        kind=kind, namespaced=namespaced, verbs=verbs, subresources=subresources or set()
    )


@pytest.fixture
def pool() -> FakePool:
    return FakePool()


@pytest.fixture
def make_pool(pool: FakePool) -> PoolFactory:
    """The client each operator replica uses; tests of the real pool override this."""

    @contextlib.asynccontextmanager
    async def fake() -> AsyncIterator[FakePool]:
        yield pool

    return fake


@pytest.fixture
async def api(k8s: kmock.KubernetesEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    """The test's own client; its User-Agent tells its requests from the operator's."""
    async with aiohttp.ClientSession(
        base_url=str(k8s.url), headers={"User-Agent": TEST_USER_AGENT}
    ) as session:
        body = {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering",
                "metadata": {"name": PEERING}}  # fmt: skip
        async with session.post(PEERINGS, json=body) as response:
            assert response.status < 300, await response.text()
        yield session


@pytest.fixture
async def replicas(
    k8s: kmock.KubernetesEmulator, make_pool: PoolFactory, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Awaitable[Replica]]]:
    """Start operator replicas (``await replicas(identity, priority=...)``); all stop at the end."""
    monkeypatch.setenv(kubeapi.API_URL_ENV, str(k8s.url).rstrip("/"))
    started: list[Replica] = []

    async def start(
        identity: str, *, priority: int = 0, liveness: str | None = None,
        refresh_interval: float = REFRESH_SECONDS,
    ) -> Replica:
        replica = Replica(
            identity=identity, priority=priority, make_pool=make_pool, liveness=liveness,
            refresh_interval=refresh_interval,
        )
        started.append(replica)
        await replica.start()
        return replica

    try:
        yield start
    finally:
        for replica in started:
            await replica.stop()


@pytest.fixture
async def running(
    api: aiohttp.ClientSession, replicas: Callable[..., Awaitable[Replica]]
) -> Replica:
    """One operator replica running against the emulator until the test ends."""
    return await replicas("operator-0")


async def put_secret(api: aiohttp.ClientSession, *, name: str, data: dict[str, str]) -> None:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "ns1"},
            "data": encoded}
    async with api.post(SECRETS, json=body) as response:
        assert response.status < 300, await response.text()


def grok_token(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("credentialSecretRef", {"name": f"{name}-sso", "key": "sso"})
    return {
        "apiVersion": f"{resources.GROUP}/{resources.VERSION}", "kind": resources.KIND,
        # kmock assigns no resourceVersion, but kopf's JSON patches test for one.
        "metadata": {"name": name, "namespace": "ns1", "resourceVersion": "1"}, "spec": spec,
    }


async def create_token(api: aiohttp.ClientSession, body: dict[str, Any]) -> None:
    async with api.post(TOKENS, json=body) as response:
        assert response.status < 300, await response.text()


async def get_token(api: aiohttp.ClientSession, name: str) -> dict[str, Any] | None:
    async with api.get(f"{TOKENS}/{name}") as response:
        if response.status == 404:
            return None
        assert response.status < 300, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def eventually(check: Callable[[], Awaitable[Any]], *, within: float = 10.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail with its last answer."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"condition not met within {within}s; last: {result!r}")
        await asyncio.sleep(0.05)
