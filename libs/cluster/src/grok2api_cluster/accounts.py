"""The deployment's accounts: the same credentials seeded into the simulator (a file it
reads at start) and added to the pool over gRPC."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Tier

CONCURRENT_ADDS = 16


def credentials(count: int, prefix: str = "cluster") -> list[str]:
    return [f"{prefix}-{n:04d}" for n in range(count)]


def write_simulator_file(path: Path, creds: Sequence[str], tier: str) -> Path:
    path.write_text("".join(f"{credential} {tier}\n" for credential in creds))
    return path


async def _add(address: str, creds: Sequence[str], tier: Tier) -> None:
    gate = asyncio.Semaphore(CONCURRENT_ADDS)
    async with GrpcPoolClient(address) as pool:

        async def add(credential: str) -> None:
            async with gate:
                await pool.upsert_account(credential=credential, tier=tier)

        await asyncio.gather(*(add(c) for c in creds))


def add_to_pool(address: str, creds: Sequence[str], tier: str) -> None:
    asyncio.run(_add(address, creds, Tier(tier)))
