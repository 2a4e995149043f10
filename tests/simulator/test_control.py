"""The control API, the accounts file, the CLI and the subprocess runner."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from grok_sim import accountsfile
from grok_sim.cli import app
from grok_sim.errors import ConfigError, SimError
from grok_sim.state import SeedAccount
from grok_sim.testing import SimHandle, SimulatorProcess, running_simulator
from sim_wire import chat_body, grok_headers
from typer.testing import CliRunner

CHAT = "/rest/app-chat/conversations/new"


def test_account_listing_masks_credentials(sim: SimHandle):
    sim.add_account("a-very-secret-token-1234", tier="super")
    [listed] = sim.accounts()
    assert "secret" not in json.dumps(listed)
    assert listed["tier"] == "super" and listed["quotas"]["heavy"]["total"] == 20


def test_remove_account_makes_its_credential_unknown(sim: SimHandle):
    sim.add_account("tok-gone")
    assert sim.remove_account("tok-gone") is True
    answer = httpx2.post(sim.base_url + CHAT, headers=grok_headers("tok-gone"), json=chat_body())
    assert answer.status_code == 401


def test_quota_override_with_remaining_and_window(sim: SimHandle):
    sim.add_account("tok", quotas={"auto": {"total": 20, "remaining": 3, "window_seconds": 60}})
    assert sim.quota("tok", "auto") == {"total": 20, "remaining": 3, "windowSeconds": 60,
                                        "used": 17}


def test_control_api_refuses_bad_input(sim: SimHandle):
    with pytest.raises(SimError, match="tier"):
        sim.add_account("tok", tier="platinum")
    with pytest.raises(SimError, match="quota mode"):
        sim.add_account("tok", quotas={"turbo": 1})


def test_reset_forgets_accounts_faults_scripts_and_records(sim: SimHandle):
    sim.add_account("tok")
    sim.set_fault("500")
    sim.script_reply("x")
    sim.set_options(token_delay_ms=5)
    httpx2.post(sim.base_url + CHAT, headers=grok_headers("tok"), json=chat_body())
    sim.reset()
    assert sim.accounts() == [] and sim.requests() == []
    assert sim.set_options()["token_delay_ms"] == 0


def test_faults_listing_shows_scope_and_remaining_uses(sim: SimHandle):
    listed = sim.set_fault("429", account="tok", times=2, retry_after=5)
    assert listed == [{"kind": "429", "scope": "account", "times": 2, "path": None,
                       "params": {"retry_after": 5}}]


def test_accounts_file_in_json_and_text(tmp_path: Path):
    as_json = tmp_path / "accounts.json"
    as_json.write_text(json.dumps({"accounts": [
        "plain", {"credential": "sso=big", "tier": "heavy", "quotas": {"auto": 3}}]}))
    as_text = tmp_path / "accounts.txt"
    as_text.write_text("# demo accounts\none\ntwo super  # trailing comment\n\n")
    assert accountsfile.load_accounts(as_json) == [
        SeedAccount(credential="plain"),
        SeedAccount(credential="big", tier="heavy", quotas={"auto": 3}),
    ]
    assert accountsfile.load_accounts(as_text) == [
        SeedAccount(credential="one"), SeedAccount(credential="two", tier="super")]


@pytest.mark.parametrize("content", ["[{\"tier\": \"basic\"}]", "tok platinum", "{nope"])
def test_bad_accounts_files_are_refused_with_the_place(tmp_path: Path, content: str):
    path = tmp_path / "accounts"
    path.write_text(content)
    with pytest.raises(ConfigError, match=str(path)):
        accountsfile.load_accounts(path)


def test_running_simulator_seeds_accounts_and_options():
    with running_simulator(accounts=[SeedAccount(credential="seeded", tier="super")],
                           seed=7) as sim:
        assert sim.accounts()[0]["tier"] == "super"
        assert sim.set_options()["seed"] == 7
        sim.add_account("extra")
        sim.reset()
        assert [a["tier"] for a in sim.accounts()] == ["super"]


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"]])
def test_cli_serves_with_or_without_the_serve_subcommand(args):
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--port", "--accounts", "--account", "--seed", "--time-scale",
                   "--token-delay-ms", "--tokens-per-reply"):
        assert option in result.output


def test_cli_refuses_a_bad_accounts_file(tmp_path: Path):
    path = tmp_path / "accounts.txt"
    path.write_text("tok platinum\n")
    result = CliRunner().invoke(app, ["--accounts", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code != 0 and "tier must be one of" in result.output


def test_subprocess_runner_serves_accounts_from_a_file(tmp_path: Path):
    path = tmp_path / "accounts.txt"
    path.write_text("file-token heavy\n")
    with SimulatorProcess(accounts_file=path, seed=3) as sim:
        answer = httpx2.post(sim.base_url + CHAT, headers=grok_headers("file-token"),
                             json=chat_body(mode="heavy"))
        assert answer.status_code == 200
        assert sim.quota("file-token", "heavy")["remaining"] == 19
