from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from conftest import TOKENS, create_token, eventually, get_token, grok_token, put_secret
from grok2api_poolclient import accounts, leases
from operator_fakes import FakePool

CREDENTIAL = "sso-secret-value-123"

pytestmark = pytest.mark.usefixtures("running")


async def status_of(api: aiohttp.ClientSession, name: str) -> dict[str, Any]:
    body = await get_token(api, name)
    return (body or {}).get("status") or {}


async def test_registers_the_secret_credential_and_writes_status(
    api: aiohttp.ClientSession, pool: FakePool
) -> None:
    await put_secret(api, name="t1-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("t1", tier="super", tags=["a", "b"], note="hi"))

    status = await eventually(lambda: _status_with_account(api, "t1"))

    assert status["accountId"] == "acc-1"
    assert status["state"] == "active"
    assert status["tier"] == "super"
    upsert = pool.calls_of("upsert")[0]
    assert upsert == {"credential": CREDENTIAL, "tier": leases.Tier.SUPER, "enabled": True,
                      "tags": ("a", "b", "k8s:ns1/t1"), "note": "hi"}


async def test_the_account_is_marked_managed_by_its_object_and_a_spec_cannot_forge_it(
    api: aiohttp.ClientSession, pool: FakePool
) -> None:
    await put_secret(api, name="t9-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("t9", tags=["k8s:other/forged", "mine"]))

    await eventually(lambda: _status_with_account(api, "t9"))

    account = pool.accounts["acc-1"]
    assert account.tags == ("mine", "k8s:ns1/t9")
    assert account.managed_by == "ns1/t9"
    assert accounts.managed_by(["plain"]) is None


async def test_disabling_in_the_spec_disables_the_account(
    api: aiohttp.ClientSession, pool: FakePool
) -> None:
    await put_secret(api, name="t2-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("t2"))
    await eventually(lambda: _status_with_account(api, "t2"))

    patch = {"spec": {"enabled": False}}
    async with api.patch(f"{TOKENS}/t2", json=patch,
                         headers={"Content-Type": "application/merge-patch+json"}) as response:
        assert response.status < 300

    status = await eventually(lambda: _status_in_state(api, "t2", "disabled"))
    assert status["accountId"] == "acc-1"
    assert pool.accounts["acc-1"].enabled is False
    # sent once when it changes; later syncs leave it alone (enabled=True would clear
    # the account's failures and an invalid status in the pool)
    assert [c["enabled"] for c in pool.calls_of("upsert")].count(False) >= 1
    assert True not in [c["enabled"] for c in pool.calls_of("upsert")[1:]]


async def test_deleting_the_token_removes_the_account(
    api: aiohttp.ClientSession, pool: FakePool
) -> None:
    await put_secret(api, name="t3-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("t3"))
    await eventually(lambda: _status_with_account(api, "t3"))

    async with api.delete(f"{TOKENS}/t3") as response:
        assert response.status < 300

    async def gone() -> bool:
        return await get_token(api, "t3") is None

    await eventually(gone)
    assert pool.calls_of("remove") == [{"account_id": "acc-1"}]
    assert pool.accounts == {}


async def test_a_missing_secret_is_an_error_state_until_it_appears(
    api: aiohttp.ClientSession, pool: FakePool
) -> None:
    await create_token(api, grok_token("t4"))

    status = await eventually(lambda: _status_in_state(api, "t4", "error"))
    assert "ns1/t4-sso not found" in status["message"]
    assert pool.calls_of("upsert") == []

    # The refresh timer retries registration, so the token recovers once the Secret exists.
    await put_secret(api, name="t4-sso", data={"sso": CREDENTIAL})
    status = await eventually(lambda: _status_in_state(api, "t4", "active"))
    assert status["accountId"] == "acc-1"
    assert status["message"] == ""


async def test_refresh_mirrors_state_changes_made_by_the_pool(
    api: aiohttp.ClientSession, pool: FakePool
) -> None:
    await put_secret(api, name="t5-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("t5"))
    await eventually(lambda: _status_with_account(api, "t5"))

    pool.set_status("acc-1", accounts.AccountStatus.COOLING)

    await eventually(lambda: _status_in_state(api, "t5", "cooling"))


async def test_a_rejected_credential_never_leaks_into_status_or_events(
    api: aiohttp.ClientSession, pool: FakePool
) -> None:
    bad = "not-an-sso-credential-xyz"  # the fake pool quotes it in its error, as a bad pool might
    await put_secret(api, name="t6-sso", data={"sso": bad})
    await create_token(api, grok_token("t6"))

    status = await eventually(lambda: _status_in_state(api, "t6", "error"))
    assert "rejected" in status["message"]

    async def events_text() -> str:
        async with api.get("/api/v1/events") as response:
            return json.dumps(await response.json())

    events = await eventually(lambda: _nonempty_events(events_text))
    body = json.dumps(await get_token(api, "t6"))
    assert pool.calls_of("upsert")[0]["credential"] == bad
    assert bad not in body
    assert bad not in events


async def _nonempty_events(events_text: Any) -> str | None:
    text: str = await events_text()
    return text if "t6" in text else None


async def _status_with_account(api: aiohttp.ClientSession, name: str) -> dict[str, Any] | None:
    status = await status_of(api, name)
    return status if status.get("accountId") else None


async def _status_in_state(
    api: aiohttp.ClientSession, name: str, state: str
) -> dict[str, Any] | None:
    status = await status_of(api, name)
    return status if status.get("state") == state else None


async def test_an_unreachable_pool_is_an_error_state_until_it_returns(
    api: aiohttp.ClientSession, pool: FakePool
) -> None:
    pool.unavailable = True
    await put_secret(api, name="t7-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("t7"))

    status = await eventually(lambda: _status_in_state(api, "t7", "error"))
    assert status["message"] == "token pool: token pool unreachable"

    pool.unavailable = False
    status = await eventually(lambda: _status_in_state(api, "t7", "active"))
    assert status["accountId"] == "acc-1"


async def test_deletion_waits_for_the_pool_to_remove_the_account(
    api: aiohttp.ClientSession, pool: FakePool
) -> None:
    await put_secret(api, name="t8-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("t8"))
    await eventually(lambda: _status_with_account(api, "t8"))
    pool.unavailable = True

    async with api.delete(f"{TOKENS}/t8") as response:
        assert response.status < 300

    attempts_before = len(pool.calls)
    await eventually(lambda: _removal_attempted(pool, after=attempts_before))
    held = await get_token(api, "t8")
    assert held is not None and held["metadata"]["finalizers"]
    assert "acc-1" in pool.accounts

    pool.unavailable = False

    async def gone() -> bool:
        return await get_token(api, "t8") is None

    await eventually(gone)
    assert pool.accounts == {}


async def _removal_attempted(pool: FakePool, *, after: int) -> bool:
    """The pool refused calls since the deletion (finding the object's accounts comes first)."""
    return len(pool.calls) > after
