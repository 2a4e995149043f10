"""The deployment's accounts: the same credentials seeded into the simulator (a file it
reads at start) and added to the pool over gRPC, each with the note ``sim:<index>`` so a
test can pair the pool's account with the simulator's (``credential_of``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Tier

CONCURRENT_ADDS = 16


def credentials(count: int, prefix: str = "cluster") -> list[str]:
    return [f"{prefix}-{n:04d}" for n in range(count)]


def credential_of(note: str, creds: Sequence[str]) -> str | None:
    """The simulator credential of a pool account added here, from its note."""
    prefix, _, index = note.partition(":")
    return creds[int(index)] if prefix == "sim" and index.isdigit() else None


def write_simulator_file(path: Path, creds: Sequence[str], tier: str, auto_quota: int = 0) -> Path:
    """The simulator's accounts; ``auto_quota`` > 0 replaces the tier's own ``auto`` window
    (long fault runs would otherwise drain a realistic one)."""
    accounts: list[dict[str, object]] = [{"credential": c, "tier": tier} for c in creds]
    if auto_quota > 0:
        for account in accounts:
            account["quotas"] = {"auto": auto_quota}
    path.write_text(json.dumps(accounts))
    return path


async def _add(address: str, creds: Sequence[str], tier: Tier) -> None:
    gate = asyncio.Semaphore(CONCURRENT_ADDS)
    async with GrpcPoolClient(address) as pool:

        async def add(index: int, credential: str) -> None:
            async with gate:
                await pool.upsert_account(credential=credential, tier=tier, note=f"sim:{index}")

        await asyncio.gather(*(add(n, c) for n, c in enumerate(creds)))


def add_to_pool(address: str, creds: Sequence[str], tier: str) -> None:
    asyncio.run(_add(address, creds, Tier(tier)))
