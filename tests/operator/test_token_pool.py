"""The operator against kmock and a real token-pool service over gRPC: create, update,
Secret rotation, status write-back (conditions, events), deletion."""

from __future__ import annotations

from typing import Any

import aiohttp
import kmock
import pytest
from conftest import (
    SECRETS,
    TOKENS,
    create_token,
    eventually,
    get_token,
    grok_token,
    put_secret,
)
from grok2api_poolclient import accounts
from grok2api_poolclient.leases import Outcome, QuotaFigures, Tier
from operator_harness import PoolFactory
from real_pool import grpc_clients, lease_and_release, token_pool
from token_pool import service

__all__ = ["token_pool"]  # the fixture, imported for this module

CREDENTIAL = "sso-" + "a" * 40
ROTATED = "sso-" + "b" * 40
MERGE = {"Content-Type": "application/merge-patch+json"}

pytestmark = pytest.mark.usefixtures("running")


@pytest.fixture
def make_pool(token_pool: tuple[service.PoolService, str]) -> PoolFactory:
    return grpc_clients(token_pool[1])


@pytest.fixture
def pool(token_pool: tuple[service.PoolService, str]) -> service.PoolService:  # type: ignore[override]
    return token_pool[0]


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in status.get("conditions", ()) if c["type"] == kind)


async def status_when(api: aiohttp.ClientSession, name: str, **wanted: Any) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        status = ((await get_token(api, name)) or {}).get("status") or {}
        return status if all(status.get(k) == v for k, v in wanted.items()) else None

    result: dict[str, Any] = await eventually(check)
    return result


async def events_of(
    k8s: kmock.KubernetesEmulator, name: str
) -> list[tuple[str, str, str]]:
    """Events the operator posted about ``name``, from kmock's request log: kmock keeps
    only the first Event of a namespace (it gives ``generateName`` objects no name)."""
    posted = [r.data for r in list(k8s)
              if str(r.method).upper().endswith("POST") and r.url.path.endswith("/events")]
    return [(e["type"], e["reason"], e["message"]) for e in posted
            if e.get("involvedObject", {}).get("name") == name]


async def event_posted(
    k8s: kmock.KubernetesEmulator, name: str, kind: str, reason: str
) -> list[tuple[str, str]]:
    """Wait for the operator's Event (posted after the status it follows, so a status
    seen does not mean its Event is); every (type, reason) posted about ``name`` then."""

    async def check() -> list[tuple[str, str]] | None:
        posted = [(t, r) for t, r, _ in await events_of(k8s, name)]
        return posted if (kind, reason) in posted else None

    result: list[tuple[str, str]] = await eventually(check)
    return result


async def test_a_created_token_is_in_the_pool_and_its_status_says_so(
    api: aiohttp.ClientSession, pool: service.PoolService,
    k8s: kmock.KubernetesEmulator,
) -> None:
    await put_secret(api, name="t1-sso", data={"sso": CREDENTIAL})
    body = grok_token("t1", tier="super", tags=["team-a"])
    body["metadata"]["generation"] = 1
    await create_token(api, body)

    status = await status_when(api, "t1", state="active")

    account = await pool.get_account(status["accountId"])
    assert account.tier == Tier.SUPER
    assert account.tags == ("team-a", "k8s:ns1/t1")
    assert status["tier"] == "super"
    assert status["operator"] == "operator-0"
    assert status["observedGeneration"] == 1
    ready, credential = condition(status, "Ready"), condition(status, "CredentialAvailable")
    assert (ready["status"], ready["reason"], ready["observedGeneration"]) == ("True", "Active", 1)
    assert (credential["status"], credential["reason"]) == ("True", "SecretRead")
    assert ready["lastTransitionTime"]
    await event_posted(k8s, "t1", "Normal", "Active")

    # a gateway's call reports the upstream's quota: the next refresh shows what is left
    figures = [QuotaFigures(mode="fast", remaining=17, total=20, window_seconds=7200)]
    await lease_and_release(pool, Outcome.SUCCESS, quota=figures)
    account = await pool.get_account(status["accountId"])
    assert account.remaining > 0
    await status_when(api, "t1", remainingQuota=account.remaining)


async def test_a_spec_change_reaches_the_pool_and_the_observed_generation(
    api: aiohttp.ClientSession, pool: service.PoolService
) -> None:
    await put_secret(api, name="t2-sso", data={"sso": CREDENTIAL})
    body = grok_token("t2", tier="basic")
    body["metadata"]["generation"] = 1
    await create_token(api, body)
    first = await status_when(api, "t2", state="active", observedGeneration=1)

    # kmock does not bump the generation as an API server does, so the patch carries it
    patch = {"metadata": {"generation": 2}, "spec": {"tier": "heavy", "note": "moved"}}
    async with api.patch(f"{TOKENS}/t2", json=patch, headers=MERGE) as response:
        assert response.status < 300

    status = await status_when(api, "t2", tier="heavy", observedGeneration=2)
    account = await pool.get_account(status["accountId"])
    assert (account.tier, account.note) == (Tier.HEAVY, "moved")
    assert status["accountId"] == first["accountId"]
    # Ready stayed True: its transition time is kept
    assert condition(status, "Ready")["lastTransitionTime"] == (
        condition(first, "Ready")["lastTransitionTime"]
    )


async def test_a_rotated_secret_replaces_the_account(
    api: aiohttp.ClientSession, pool: service.PoolService,
    k8s: kmock.KubernetesEmulator,
) -> None:
    await put_secret(api, name="t3-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("t3"))
    before = await status_when(api, "t3", state="active")

    rotation = {"data": {"sso": _b64(ROTATED)}}
    async with api.patch(f"{SECRETS}/t3-sso", json=rotation, headers=MERGE) as response:
        assert response.status < 300

    async def replaced() -> dict[str, Any] | None:
        status = ((await get_token(api, "t3")) or {}).get("status") or {}
        changed = status.get("accountId") not in (None, before["accountId"])
        return status if changed else None

    after = await eventually(replaced)
    listed = await pool.list_accounts()
    assert [a.account_id for a in listed.accounts] == [after["accountId"]]
    assert (await pool.list_accounts(search=ROTATED)).accounts[0].account_id == after["accountId"]
    await event_posted(k8s, "t3", "Normal", "CredentialRotated")


async def test_cooling_and_an_invalid_credential_show_in_conditions_and_events(
    api: aiohttp.ClientSession, pool: service.PoolService,
    k8s: kmock.KubernetesEmulator,
) -> None:
    await put_secret(api, name="t4-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("t4"))
    await status_when(api, "t4", state="active")

    await lease_and_release(pool, Outcome.RATE_LIMITED)
    cooling = await status_when(api, "t4", state="cooling")
    assert condition(cooling, "Ready")["reason"] == "Cooling"
    assert condition(cooling, "CredentialAvailable")["status"] == "True"

    # the cooling account cannot be leased, so the next call uses the second token's
    await put_secret(api, name="t4b-sso", data={"sso": ROTATED})
    await create_token(api, grok_token("t4b"))
    await status_when(api, "t4b", state="active")
    await lease_and_release(pool, Outcome.INVALID_CREDENTIAL)
    invalid = await status_when(api, "t4b", state="invalid")
    assert condition(invalid, "CredentialAvailable")["status"] == "False"
    assert condition(invalid, "CredentialAvailable")["reason"] == "InvalidCredential"

    posted = await event_posted(k8s, "t4", "Warning", "Cooling")
    await event_posted(k8s, "t4b", "Warning", "InvalidCredential")
    # one Event per change, not one per refresh
    assert posted.count(("Warning", "Cooling")) == 1


async def test_deleting_the_token_removes_its_account_and_says_so(
    api: aiohttp.ClientSession, pool: service.PoolService,
    k8s: kmock.KubernetesEmulator,
) -> None:
    await put_secret(api, name="t5-sso", data={"sso": CREDENTIAL})
    await pool.upsert_account(credential="sso-" + "c" * 40, note="added by the CLI")
    await create_token(api, grok_token("t5"))
    status = await status_when(api, "t5", state="active")

    async with api.delete(f"{TOKENS}/t5") as response:
        assert response.status < 300

    async def gone() -> bool:
        return await get_token(api, "t5") is None

    await eventually(gone)
    remaining = (await pool.list_accounts()).accounts
    assert [a.note for a in remaining] == ["added by the CLI"]  # the CLI's account stays
    with pytest.raises(Exception, match=status["accountId"]):
        await pool.get_account(status["accountId"])
    await event_posted(k8s, "t5", "Normal", "Removed")


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()



async def test_a_restarted_operator_leaves_an_invalid_account_invalid(
    api: aiohttp.ClientSession, pool: service.PoolService, running: Any, replicas: Any
) -> None:
    await put_secret(api, name="t6-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("t6"))
    await status_when(api, "t6", state="active")
    await lease_and_release(pool, Outcome.INVALID_CREDENTIAL)
    invalid = await status_when(api, "t6", state="invalid")

    await running.stop()
    await replicas("operator-1")  # resumes every object, as after an upgrade

    status = await status_when(api, "t6", operator="operator-1")
    assert status["state"] == "invalid"
    # The resume did not send enabled=true, which would clear the failures and lease a
    # credential grok.com already rejected.
    account = await pool.get_account(invalid["accountId"])
    assert account.status == accounts.AccountStatus.INVALID
