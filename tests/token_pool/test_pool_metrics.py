"""The pool's ``grok2api_pool_*`` metrics (docs/metrics.md): the pool-wide gauges come from
the shared hot state and from one replica only (the metrics leader); counters and the
acquire histogram from each replica; no label ever carries an account id or a credential."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest
import redis.asyncio as aioredis
from grok2api_jobs import leadership as leaders
from grok2api_poolclient import errors
from grok2api_poolclient.accounts import AccountStatus
from grok2api_poolclient.leases import Outcome, QuotaFigures, Tier
from pool_harness import Pool
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from token_pool import main, service, usage

GAUGES = (
    "grok2api_pool_accounts",
    "grok2api_pool_remaining_quota",
    "grok2api_pool_leases_in_flight",
    "grok2api_pool_cooling_accounts",
)


def _cred(n: int) -> str:
    return f"metrics-credential-{n:04d}-" + "x" * 24


def _samples(registry: CollectorRegistry, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in registry.collect()
        for s in family.samples
        if s.name == name
    }


def _total(registries: Sequence[CollectorRegistry], name: str, **labels: str) -> float:
    return sum(
        value
        for registry in registries
        for key, value in _samples(registry, name).items()
        if labels.items() <= dict(key).items()
    )


def _leadership(redis: aioredis.Redis, prefix: str) -> leaders.RedisLeadership:
    return main.metrics_leadership(redis, prefix)


async def test_the_gauges_describe_the_shared_hot_state(pool: Pool) -> None:
    registry = CollectorRegistry()
    svc = await pool.replica(registry=registry)
    basic = [await svc.upsert_account(credential=_cred(n), tier=Tier.BASIC) for n in range(3)]
    await svc.upsert_account(credential=_cred(9), tier=Tier.SUPER)
    await svc.upsert_account(credential=_cred(10), tier=Tier.SUPER, enabled=False)
    cooled = await svc.acquire(model="grok-4", account_id=basic[0].account_id)
    await svc.release(cooled, outcome=Outcome.RATE_LIMITED, retry_after=600)
    held = await svc.acquire(model="grok-4", account_id=basic[1].account_id)

    assert await svc.report_metrics()

    accounts = _samples(registry, "grok2api_pool_accounts")
    assert accounts[(("status", "active"), ("tier", "basic"))] == 2
    assert accounts[(("status", "cooling"), ("tier", "basic"))] == 1
    assert accounts[(("status", "active"), ("tier", "super"))] == 1
    assert accounts[(("status", "disabled"), ("tier", "super"))] == 1
    assert accounts[(("status", "invalid"), ("tier", "heavy"))] == 0  # zeros are series too
    assert len(accounts) == len(Tier) * len(AccountStatus)
    assert _samples(registry, "grok2api_pool_cooling_accounts") == {
        (("tier", "basic"),): 1, (("tier", "super"),): 0, (("tier", "heavy"),): 0,
    }  # fmt: skip
    assert registry.get_sample_value("grok2api_pool_leases_in_flight") == 1
    # the cooling account's quota is not usable; the held lease reserved its cost (1)
    stats = await svc.stats()
    basic_stats = next(t for t in stats.tiers if t.tier is Tier.BASIC)
    for mode, remaining in basic_stats.remaining_by_mode.items():
        labels = {"tier": "basic", "mode": mode}
        assert registry.get_sample_value("grok2api_pool_remaining_quota", labels) == remaining
    assert basic_stats.remaining_by_mode  # there is something to compare

    await svc.release(held, outcome=Outcome.SUCCESS)
    await svc.report_metrics()
    assert registry.get_sample_value("grok2api_pool_leases_in_flight") == 0


async def test_stats_alone_set_no_gauge(pool: Pool) -> None:
    registry = CollectorRegistry()
    svc = await pool.replica(registry=registry)
    await svc.upsert_account(credential=_cred(1))
    await svc.stats()  # what the admin panel calls, on whichever replica it reaches
    assert _samples(registry, "grok2api_pool_accounts") == {}


@pytest.mark.parametrize("backend", ["redis"])
async def test_two_replicas_on_one_redis_report_the_gauges_once(
    pool: Pool, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    registries = [CollectorRegistry(), CollectorRegistry()]
    replicas = [
        await pool.replica(registry=r, leadership=_leadership(redis_client, redis_prefix))
        for r in registries
    ]
    for n in range(5):
        await replicas[n % 2].upsert_account(credential=_cred(n))
    leases = [await svc.acquire(model="grok-4") for svc in replicas]

    reporting = [await svc.report_metrics() for svc in replicas]
    reporting += [await svc.report_metrics() for svc in reversed(replicas)]  # renewals

    assert reporting in ([True, False, False, True], [False, True, True, False])
    shown = [r for r in registries if _samples(r, "grok2api_pool_leases_in_flight")]
    assert len(shown) == 1
    for name in GAUGES:
        assert [bool(_samples(r, name)) for r in registries].count(True) == 1, name
    assert _total(registries, "grok2api_pool_accounts") == 5
    assert _total(registries, "grok2api_pool_accounts", status="active") == 5
    assert _total(registries, "grok2api_pool_leases_in_flight") == 2
    # counters are each replica's own, and add up
    assert _total(registries, "grok2api_pool_acquire_duration_seconds_count", result="ok") == 2
    for svc, lease in zip(replicas, leases, strict=True):
        await svc.release(lease, outcome=Outcome.SUCCESS)
    assert _total(registries, "grok2api_pool_outcomes_total", outcome="success") == 2


@pytest.mark.parametrize("backend", ["redis"])
async def test_the_gauges_move_to_another_replica_when_the_leader_stops(
    pool: Pool, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    leader = await pool.replica(registry=first, leadership=_leadership(redis_client, redis_prefix))
    other = await pool.replica(registry=second, leadership=_leadership(redis_client, redis_prefix))
    await leader.upsert_account(credential=_cred(1))
    assert await leader.report_metrics()
    assert not await other.report_metrics()

    await leader.aclose()

    assert _samples(first, "grok2api_pool_accounts") == {}
    assert first.get_sample_value("grok2api_pool_leases_in_flight") is None
    assert await other.report_metrics()  # its next round, not the lease's expiry
    assert _total([second], "grok2api_pool_accounts") == 1


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_replica_whose_lease_expired_stops_reporting(
    pool: Pool, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    stalled = await pool.replica(
        registry=first, leadership=_leadership(redis_client, redis_prefix)
    )
    other = await pool.replica(registry=second, leadership=_leadership(redis_client, redis_prefix))
    await stalled.upsert_account(credential=_cred(1))
    assert await stalled.report_metrics()

    await redis_client.delete(f"{redis_prefix}:metrics-leader")  # its lease ran out
    assert await other.report_metrics()
    assert not await stalled.report_metrics()

    assert _samples(first, "grok2api_pool_accounts") == {}
    assert _total([second], "grok2api_pool_accounts") == 1


async def test_the_single_process_pool_always_reports_the_gauges(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from grok2api_settings import Settings

    settings = Settings.model_validate(
        {"data_dir": str(tmp_path), "token": {"auto_refresh": False}}
    )
    async with main.running(settings, redis=None, grpc_address=None) as pool:
        await pool.upsert_account(credential=_cred(1))
        assert await pool.report_metrics()
        assert await pool.report_metrics()
        assert pool.metrics.gauges.shown


async def test_acquires_are_timed_by_result_and_exhaustion_counted_by_reason(
    pool: Pool,
) -> None:
    registry = CollectorRegistry()
    svc = await pool.replica(registry=registry)
    with pytest.raises(errors.PoolExhausted):
        await svc.acquire(model="grok-4")  # no account at all
    acct = await svc.upsert_account(credential=_cred(1))
    lease = await svc.acquire(model="grok-4")
    with pytest.raises(errors.PoolExhausted):
        await svc.acquire(model="grok-4", account_id=acct.account_id, account_tags=["team-x"])
    await svc.release(lease, outcome=Outcome.TRANSIENT)

    def count(result: str) -> float | None:
        labels = {"result": result}
        return registry.get_sample_value("grok2api_pool_acquire_duration_seconds_count", labels)

    assert (count("ok"), count("exhausted"), count("error")) == (1, 2, None)
    reasons = _samples(registry, "grok2api_pool_exhausted_total")
    assert sum(reasons.values()) == 2
    assert reasons[(("reason", "no_account_of_tier"),)] == 1
    assert registry.get_sample_value(
        "grok2api_pool_outcomes_total", {"outcome": "transient", "tier": "basic"}
    ) == 1


async def test_batched_acquires_are_timed_and_counted_one_by_one(pool: Pool) -> None:
    from token_pool import leasing

    registry = CollectorRegistry()
    svc = await pool.replica(registry=registry, max_inflight_per_account=1)
    await svc.upsert_account(credential=_cred(1))
    orders = [leasing.AcquireOrder(model="grok-4"), leasing.AcquireOrder(model="grok-4")]
    leases, _ = await svc.lease_batch(acquires=orders)

    assert isinstance(leases[1], errors.PoolExhausted)
    assert registry.get_sample_value(
        "grok2api_pool_acquire_duration_seconds_count", {"result": "ok"}
    ) == 1
    assert registry.get_sample_value(
        "grok2api_pool_exhausted_total", {"reason": leases[1].reason.value}
    ) == 1


class ScriptedReader:
    """A usage reader answering from a script keyed by credential."""

    def __init__(self, answers: dict[str, usage.Usage | Exception]) -> None:
        self.answers = answers

    async def read(self, credential: str) -> usage.Usage:
        answer = self.answers.get(credential, usage.UsageUnavailable("not scripted"))
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_usage_refreshes_are_counted_by_result(pool: Pool) -> None:
    figures = (QuotaFigures(mode="auto", remaining=5, total=20, window_seconds=7200),)
    reader = ScriptedReader({
        _cred(1): usage.Usage(figures=figures, tier=None),
        _cred(2): usage.UsageUnavailable("ConnectError"),
        _cred(3): usage.CredentialRejected("rejected"),
    })  # fmt: skip
    registry = CollectorRegistry()
    svc = await pool.replica(registry=registry, reader=reader)
    for n in (1, 2, 3):
        await svc.upsert_account(credential=_cred(n))

    [_ async for _ in svc.refresh_usage(all_accounts=True)]

    results = _samples(registry, "grok2api_pool_usage_refreshes_total")
    assert results == {
        (("result", "ok"),): 1, (("result", "failed"),): 1, (("result", "invalid"),): 1,
    }  # fmt: skip


async def _traffic(pool: Pool, registry: CollectorRegistry) -> tuple[list[str], list[str]]:
    """Every kind of pool event once; the account ids and credentials it involved."""
    figures = (QuotaFigures(mode="auto", remaining=5, total=20, window_seconds=7200),)
    creds = [_cred(n) for n in range(4)]
    reader = ScriptedReader({
        creds[0]: usage.Usage(figures=figures, tier=Tier.BASIC),
        creds[1]: usage.UsageUnavailable("ConnectError"),
        creds[2]: usage.CredentialRejected("rejected"),
        creds[3]: usage.Usage(figures=figures, tier=None),
    })  # fmt: skip
    svc = await pool.replica(registry=registry, reader=reader)
    ids = [(await svc.upsert_account(credential=c, tags=["team-a"])).account_id for c in creds]
    for n, outcome in enumerate(Outcome):  # an account each: some outcomes cool theirs
        creds.append(_cred(100 + n))
        ids.append((await svc.upsert_account(credential=creds[-1])).account_id)
        lease = await svc.acquire(model="grok-4", account_id=ids[-1])
        await svc.release(lease, outcome=outcome)
    with pytest.raises(errors.PoolExhausted):
        await svc.acquire(model="grok-4", account_tags=["nobody"])
    [_ async for _ in svc.refresh_usage(all_accounts=True)]
    assert await svc.report_metrics()
    return ids, creds


async def test_no_label_carries_an_account_id_or_a_credential(pool: Pool) -> None:
    registry = CollectorRegistry()
    ids, creds = await _traffic(pool, registry)
    text = generate_latest(registry).decode()

    for secret in [*ids, *creds, "team-a", "nobody"]:
        assert secret not in text
    allowed = {
        "tier": {t.value for t in Tier},
        "status": {s.value for s in AccountStatus},
        "outcome": {o.value for o in Outcome},
        "reason": {r.value for r in errors.ExhaustedReason},
        "result": {"ok", "exhausted", "error", "failed", "invalid"},
        "mode": {"auto", "fast", "expert", "heavy"},
    }
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for label, value in sample.labels.items():
                if label == "le":
                    continue
                assert value in allowed[label], (sample.name, label, value)


async def test_promtool_accepts_the_exposition(
    pool: Pool, check_metrics: Callable[[bytes], None]
) -> None:
    registry = CollectorRegistry()
    await _traffic(pool, registry)
    await asyncio.to_thread(check_metrics, generate_latest(registry))


def test_the_metrics_lease_outlives_two_missed_rounds() -> None:
    assert service.METRICS_LEASE_SECONDS > 2 * service.METRICS_INTERVAL_SECONDS


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_command_s_own_pool_never_takes_the_lease_from_the_replicas(
    pool: Pool, redis_client: aioredis.Redis, redis_prefix: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from grok2api_settings import Settings

    replica = await pool.replica(
        registry=CollectorRegistry(), leadership=_leadership(redis_client, redis_prefix)
    )
    from grok2api_storage import crypto

    settings = Settings.model_validate({
        "data_dir": str(tmp_path), "token": {"auto_refresh": False},
        "security": {"encryption_key": crypto.generate_key()},
    })  # fmt: skip
    async with main.running(
        settings, redis=redis_client, grpc_address=None, hot_prefix=redis_prefix,
        report_metrics=False,
    ) as command_pool:  # fmt: skip
        await redis_client.delete(f"{redis_prefix}:metrics-leader")  # the lease is free
        assert not await command_pool.report_metrics()
        assert await redis_client.get(f"{redis_prefix}:metrics-leader") is None
        assert await replica.report_metrics()
