"""Run the operator in-process against kmock's in-memory Kubernetes API with a fake pool."""

from __future__ import annotations

import asyncio
import base64
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import kmock
import pytest
from grok2api_operator import kubeapi, main, resources
from grok2api_settings import Settings
from operator_fakes import FakePool

TOKENS = f"/apis/{resources.GROUP}/{resources.VERSION}/namespaces/ns1/{resources.PLURAL}"
SECRETS = "/api/v1/namespaces/ns1/secrets"
REFRESH_SECONDS = 0.5


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
async def api(k8s: kmock.KubernetesEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=str(k8s.url)) as session:
        yield session


@pytest.fixture
async def running(
    k8s: kmock.KubernetesEmulator, pool: FakePool, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[None]:
    """The operator running against the emulator until the test ends.

    It runs in its own thread and event loop: on stop, kopf cancels every task of its loop
    that it did not start, which would include pytest-asyncio's teardown tasks.
    """
    monkeypatch.setenv(kubeapi.API_URL_ENV, str(k8s.url).rstrip("/"))
    options = main.Options(
        refresh_interval=REFRESH_SECONDS, retry_delay=REFRESH_SECONDS, watch_timeout=1.0
    )
    started: queue.Queue[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = queue.Queue()

    async def serve() -> None:
        stop = asyncio.Event()
        started.put((asyncio.get_running_loop(), stop))
        await main.run(Settings(), pool=pool, stop=stop, options=options)  # type: ignore[arg-type]

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="operator")
    thread.start()
    loop, stop = await asyncio.to_thread(started.get, timeout=10)
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        await asyncio.to_thread(thread.join, 20)
        assert not thread.is_alive(), "the operator did not stop"


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
