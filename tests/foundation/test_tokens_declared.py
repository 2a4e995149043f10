"""``grok2api tokens`` refuses to edit or remove accounts a GrokToken object declares, and
says to change the object instead; accounts added by the CLI stay editable beside them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from grok2api_poolclient import accounts
from grok2api_settings import Settings
from token_pool import main as pool_main

from .conftest import grok2api_in_process

DECLARED = "declared-" + "d" * 30
PLAIN = "plain-" + "p" * 30


def _settings(data_dir: Path) -> Settings:
    """The settings the CLI builds from DATA_DIR: the same store and key."""
    return Settings.model_validate({"data_dir": str(data_dir), "token": {"auto_refresh": False}})


async def _seed(data_dir: Path) -> tuple[accounts.Account, accounts.Account]:
    async with pool_main.running(_settings(data_dir), redis=None, grpc_address=None) as pool:
        declared = await pool.upsert_account(
            credential=DECLARED, tags=["team", accounts.managed_tag(namespace="prod", name="alice")]
        )
        plain = await pool.upsert_account(credential=PLAIN, note="added by hand")
    return declared, plain


async def _accounts(data_dir: Path) -> dict[str, accounts.Account]:
    async with pool_main.running(_settings(data_dir), redis=None, grpc_address=None) as pool:
        return {a.account_id: a for a in (await pool.list_accounts()).accounts}


@pytest.fixture
def local_env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "TOKEN_POOL_ADDR": "127.0.0.1:1"}


@pytest.fixture
def seeded(local_env: dict[str, str]) -> tuple[accounts.Account, accounts.Account]:
    return asyncio.run(_seed(Path(local_env["DATA_DIR"])))


def test_removing_a_declared_account_is_refused_and_nothing_is_removed(local_env, seeded):
    declared, plain = seeded

    result = grok2api_in_process(
        "tokens", "remove", plain.account_id, declared.account_id, "--local", env=local_env
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"grok2api: account {declared.account_id} is declared by the GrokToken prod/alice: "
        "change or delete that object instead (kubectl -n prod edit groktoken alice)"
    )
    assert set(asyncio.run(_accounts(Path(local_env["DATA_DIR"])))) == {
        declared.account_id, plain.account_id,
    }


def test_adding_a_declared_credential_again_is_refused(local_env, seeded):
    declared, _ = seeded

    result = grok2api_in_process(
        "tokens", "add", f"sso={DECLARED}", "--note", "mine now", "--local", env=local_env
    )

    assert result.returncode == 2
    assert "declared by the GrokToken prod/alice" in result.stderr
    kept = asyncio.run(_accounts(Path(local_env["DATA_DIR"])))[declared.account_id]
    assert kept.note == "" and kept.managed_by == "prod/alice"


def test_the_reserved_tag_cannot_be_set_from_the_cli(local_env):
    result = grok2api_in_process(
        "tokens", "add", PLAIN, "--tag", "k8s:prod/forged", "--local", env=local_env
    )

    assert result.returncode == 2
    assert "reserved for accounts a GrokToken object declares: k8s:prod/forged" in result.stderr


def test_an_import_skips_declared_accounts_and_imports_the_rest(local_env, seeded, tmp_path):
    declared, _ = seeded
    credentials = tmp_path / "import.txt"
    credentials.write_text(f"{DECLARED}\nfresh-{'f' * 30}\n")

    result = grok2api_in_process("tokens", "import", str(credentials), "--local", env=local_env)

    assert result.returncode == 1
    assert "declared by the GrokToken prod/alice" in result.stdout + result.stderr
    assert "imported 1 of 2 accounts" in result.stdout
    after = asyncio.run(_accounts(Path(local_env["DATA_DIR"])))
    assert len(after) == 3
    assert after[declared.account_id].tags == declared.tags


def test_accounts_added_by_the_cli_stay_editable(local_env, seeded):
    _, plain = seeded

    result = grok2api_in_process("tokens", "remove", plain.account_id, "--local", env=local_env)

    assert result.returncode == 0, result.stderr
    assert plain.account_id not in asyncio.run(_accounts(Path(local_env["DATA_DIR"])))
