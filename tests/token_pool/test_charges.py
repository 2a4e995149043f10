"""What a lease takes from its account's window: one query a request, whatever the model
(the upstream counts queries; the catalogue's cost only prices client keys' quotas).
Both backends (memory, redis)."""

from __future__ import annotations

import pytest
from grok2api_poolclient import errors
from grok2api_poolclient.leases import Outcome, QuotaFigures, Tier
from grok_web import catalogue
from pool_harness import Pool

CRED = "charge-credential-0001-" + "c" * 20


@pytest.mark.parametrize(
    ("model", "mode"),
    [
        ("grok-4-heavy", "heavy"),
        ("grok-4.1-thinking", "expert"),
        ("grok-imagine-1.0-video", "auto"),
    ],
)
async def test_a_request_takes_one_query_even_where_the_model_costs_more(
    pool: Pool, model: str, mode: str
) -> None:
    assert catalogue.get(model).cost > 1  # the case that tells the two apart
    svc = await pool.replica()
    await svc.upsert_account(credential=CRED, tier=Tier.SUPER)
    first = await svc.acquire(model=model)
    assert first.cost == 1
    # the upstream reports three queries left after the first
    left = [QuotaFigures(mode=mode, remaining=3, total=4, window_seconds=7200)]
    await svc.release(first, outcome=Outcome.SUCCESS, quota=left)
    for _ in range(3):
        lease = await svc.acquire(model=model)
        await svc.release(lease, outcome=Outcome.SUCCESS)
    with pytest.raises(errors.PoolExhausted):
        await svc.acquire(model=model)
