"""Bulk formats (credential lines, token.json pool file) and the ``grok2api tokens`` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grok2api_cli import tokens
from grok2api_poolclient import formats
from grok2api_poolclient.accounts import AccountStatus, ExportedAccount
from grok2api_poolclient.leases import Tier
from typer.testing import CliRunner

A, B, C = "a" * 20 + "1", "b" * 20 + "2", "c" * 20 + "3"


def test_parses_credential_lines_tolerating_sso_prefix_and_comments() -> None:
    entries = formats.parse(f"# pool\n{A}\n\n sso={B} \n{A}\n")
    assert [e.credential for e in entries] == [A, B]
    assert all(e.tier is None for e in entries)


def test_parses_the_seed_pool_file_with_tiers_status_and_tags() -> None:
    pool = {
        "ssoBasic": [{"token": f"sso={A}", "status": "active", "tags": ["x"], "note": "n"}],
        "ssoSuper": [{"token": B, "status": "disabled", "quota": 140}, C],
    }
    entries = formats.parse(json.dumps(pool))
    assert [(e.credential, e.tier, e.enabled, e.tags, e.note) for e in entries] == [
        (A, Tier.BASIC, None, ("x",), "n"),
        (B, Tier.SUPER, False, None, None),
        (C, Tier.SUPER, None, None, None),
    ]


def test_rejects_a_pool_file_entry_without_token() -> None:
    with pytest.raises(formats.FormatError, match=r"ssoBasic\[0\]"):
        formats.parse(json.dumps({"ssoBasic": [{"note": "x"}]}))


def test_export_round_trips_through_the_pool_file() -> None:
    items = [
        ExportedAccount(credential=A, tier=Tier.BASIC, status=AccountStatus.ACTIVE, tags=("t",)),
        ExportedAccount(credential=B, tier=Tier.SUPER, status=AccountStatus.ACTIVE, enabled=False),
    ]
    again = formats.parse(json.dumps(formats.to_pool_file(items)))
    assert [(e.credential, e.tier, e.enabled) for e in again] == [
        (A, Tier.BASIC, None),
        (B, Tier.SUPER, False),
    ]
    assert formats.to_lines(items) == f"{A}\n{B}\n"


def test_cli_imports_lists_masked_and_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    pool_file = tmp_path / "token.json"
    pool_file.write_text(json.dumps({"ssoBasic": [{"token": A}], "ssoSuper": [{"token": B}]}))
    runner = CliRunner()
    result = runner.invoke(tokens.app, ["import", str(pool_file), "--local", "--tag", "bulk"])
    assert result.exit_code == 0, result.output
    assert "imported 2 of 2" in result.output

    listed = runner.invoke(tokens.app, ["list", "--local", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
    assert sorted(r["tier"] for r in rows) == ["basic", "super"]
    assert A not in listed.output and B not in listed.output
    assert all(r["tags"] == ["bulk"] for r in rows)

    exported = runner.invoke(tokens.app, ["export", "--local", "--format", "lines"])
    assert exported.exit_code == 0, exported.output
    assert sorted(exported.stdout.split()) == [A, B]

    removed = runner.invoke(tokens.app, ["remove", rows[0]["id"], "--local"])
    assert removed.exit_code == 0, removed.output
    left = runner.invoke(tokens.app, ["list", "--local", "--json"])
    assert len([line for line in left.stdout.splitlines() if line.startswith("{")]) == 1
