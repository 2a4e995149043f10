"""Two operator replicas on one API: the one of higher priority acts, the other pauses,
and takes over when the first stops."""

from __future__ import annotations

import logging
import socket
from typing import Any

import aiohttp
import pytest
from conftest import PEERINGS, create_token, eventually, get_token, grok_token, put_secret
from grok2api_operator import errors, main
from grok2api_settings.sections import ServerSettings
from operator_harness import PEERING

CREDENTIAL = "sso-peering-credential"


async def peers(api: aiohttp.ClientSession) -> set[str]:
    """Replicas announced in the peering object (kopf drops a leaving one's entry)."""
    async with api.get(f"{PEERINGS}/{PEERING}") as response:
        body = await response.json()
    return {name for name, entry in (body.get("status") or {}).items() if entry}


async def status_of(api: aiohttp.ClientSession, name: str) -> dict[str, Any]:
    return ((await get_token(api, name)) or {}).get("status") or {}


def test_an_older_replica_has_the_higher_priority() -> None:
    older = main.priority_for(1_800_000_000, tie_break=0)
    newer = main.priority_for(1_800_000_001, tie_break=65535)
    assert older > newer > 0
    assert main.priority_for(1_800_000_000, tie_break=1) != older  # ties broken


async def test_only_one_replica_acts_and_the_other_takes_over_when_it_stops(
    api: aiohttp.ClientSession, replicas: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kopf")
    first = await replicas("operator-a", priority=200)

    async def announced(*names: str) -> bool:
        return await peers(api) == set(names)

    await eventually(lambda: announced("operator-a"))
    # The second replica starts paused (peering is mandatory) and, seeing a live peer of
    # higher priority from its first look at the peering object, never resumes.
    await replicas("operator-b", priority=100)
    await eventually(lambda: announced("operator-a", "operator-b"))

    def resumed(thread: str) -> bool:
        return any(r.threadName == thread and "Resuming operations" in r.getMessage()
                   for r in caplog.records)  # fmt: skip

    await put_secret(api, name="p1-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("p1"))

    # Several refreshes (every 0.5 s), all written by the active replica.
    seen: set[str] = set()
    writers: set[str] = set()

    async def refreshed_three_times() -> bool:
        status = await status_of(api, "p1")
        if status.get("lastSynced"):
            seen.add(status["lastSynced"])
            writers.add(status["operator"])
        return len(seen) >= 3

    await eventually(refreshed_three_times)
    assert writers == {"operator-a"}
    assert not resumed("operator-b")

    await first.stop()

    async def taken_over() -> bool:
        return (await status_of(api, "p1")).get("operator") == "operator-b"

    await eventually(taken_over)
    assert await peers(api) == {"operator-b"}
    assert resumed("operator-b")


async def test_a_replica_without_its_peering_object_stops_saying_what_to_create(
    k8s: Any, replicas: Any
) -> None:
    # no `api` fixture: nothing created the ClusterKopfPeering
    replica = await replicas("operator-lonely")

    async def stopped() -> bool:
        return not replica.running

    await eventually(stopped)
    assert isinstance(replica.error, errors.PeeringMissing)
    assert f"ClusterKopfPeering {PEERING!r} does not exist" in str(replica.error)
    assert "crds/kopfpeering.yaml" in str(replica.error)


def test_the_chart_sets_the_peering_and_identity_through_the_environment() -> None:
    server = ServerSettings(host="0.0.0.0", port=8123)
    options = main.Options.from_environ(
        {"OPERATOR_PEERING": "rel-ns", "POD_NAME": "op-7f9"}, server=server
    )
    assert (options.peering, options.identity) == ("rel-ns", "op-7f9")
    # Liveness where every target answers it (the chart's probe, the image's HEALTHCHECK).
    assert options.liveness_endpoint == "http://0.0.0.0:8123/healthz"
    assert main.Options.from_environ({}, server=server).peering == main.DEFAULT_PEERING


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_acting_and_paused_replicas_answer_liveness_until_they_stop(
    api: aiohttp.ClientSession, replicas: Any
) -> None:
    urls = [f"http://127.0.0.1:{_free_port()}/healthz" for _ in range(2)]
    acting = await replicas("operator-live-a", priority=200, liveness=urls[0])
    await replicas("operator-live-b", priority=100, liveness=urls[1])

    async def alive(url: str) -> bool:
        try:
            async with aiohttp.ClientSession() as probe, probe.get(url) as response:
                return response.status == 200
        except aiohttp.ClientConnectionError:
            return False

    for url in urls:
        await eventually(lambda url=url: alive(url))
    await acting.stop()
    assert not await alive(urls[0])
    assert await alive(urls[1])
