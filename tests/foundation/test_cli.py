"""The ``grok2api`` command line: its one-line errors and exit statuses.

A command that ends on a settings or connection error before serving anything runs in this
process (``grok2api_in_process``: the same app, the same environment, the same output and
status); so does ``run`` refused before it starts a server, a pool or a worker process.
What needs a process of its own (ports taken, worker processes, a split target's gRPC
preflight) starts a real ``grok2api`` (``grok2api``)."""

import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
from grok2api_cli import main
from grok2api_settings import rendering
from typer.testing import CliRunner

from .conftest import grok2api, grok2api_in_process


def all_commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    # list_commands/get_command, as the command line asks: the root imports its groups
    # when they are named (grok2api_cli.main.GROUPS), so its `commands` is not all of them.
    found = [prefix]
    for name in group.list_commands(None):
        command = group.get_command(None, name)
        if hasattr(command, "commands"):
            found += all_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_every_command_has_help():
    commands = all_commands(typer.main.get_command(main.app))
    assert {("run",), ("config", "show"), ("tokens", "import"), ("sim", "serve")} <= set(commands)
    for path in commands:
        result = CliRunner().invoke(main.app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_version_prints_the_package_version(env):
    result = grok2api_in_process("version", env=env)
    assert result.returncode == 0
    assert result.stdout.strip() == "0.1.0"


def test_config_defaults_prints_the_defaults_file(env):
    result = grok2api_in_process("config", "defaults", env=env)
    assert result.stdout.strip() == rendering.defaults_file().strip()


def test_config_show_gives_sources_and_masks_secrets(env, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[app]\napi_key = "sk-topsecret"\n')
    env = {**env, "SERVER_PORT": "9123", "COLUMNS": "200"}
    result = grok2api_in_process("config", "show", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    assert "sk-topsecret" not in result.stdout
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines()
             if line.count("│") >= 3}
    assert "env:SERVER_PORT" in lines["server.port"] and "9123" in lines["server.port"]
    assert f"file:{config}" in lines["app.api_key"] and "***" in lines["app.api_key"]
    assert "default" in lines["chat.stream"]


def test_config_validate_accepts_a_good_file_and_names_the_bad_key(env, tmp_path):
    good = tmp_path / "good.toml"
    good.write_text("[chat]\nstream = false\n")
    assert grok2api_in_process("config", "validate", str(good), env=env).returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[token]\nfail_threshold = 0\n")
    result = grok2api_in_process("config", "validate", str(bad), env=env)
    assert result.returncode == 2
    assert "token.fail_threshold = 0" in result.stderr and str(bad) in result.stderr


def test_a_malformed_setting_stops_run_with_one_line(env):
    result = grok2api_in_process("run", env={**env, "SERVER_PORT": "eighty"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "grok2api: setting server.port = 'eighty' from env:SERVER_PORT: "
        "Input should be a valid integer, unable to parse string as an integer"
    ]


def test_unknown_target_is_refused(env):
    result = grok2api_in_process("run", "--target", "everything", env=env)
    assert result.returncode == 2
    assert "unknown target 'everything'" in result.stderr


def test_token_pool_target_without_redis_fails_with_one_line_naming_redis_url(env):
    result = grok2api_in_process("run", "--target", "token-pool", env=env)
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "REDIS_URL" in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_unreachable_redis_is_named(env):
    result = grok2api_in_process("run", "--target", "token-pool",
                                 env={**env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach Redis" in lines[0] and "REDIS_URL" in lines[0]


def test_gateway_target_without_a_reachable_pool_names_token_pool_addr(env):
    result = grok2api("run", "--target", "gateway", env={
        **env, "REDIS_URL": "redis://127.0.0.1:6379/0", "TOKEN_POOL_ADDR": "127.0.0.1:1"})
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "TOKEN_POOL_ADDR" in lines[0], result.stderr


def test_several_workers_without_redis_are_refused(env):
    result = grok2api_in_process("run", env={**env, "SERVER_WORKERS": "2"})
    assert result.returncode == 3
    assert "SERVER_WORKERS=2 needs REDIS_URL" in result.stderr


def test_validate_names_a_missing_file(env, tmp_path):
    result = grok2api_in_process("config", "validate", str(Path(tmp_path / "nope.toml")), env=env)
    assert result.returncode == 2 and "no such file" in result.stderr


def test_a_taken_port_stops_run_with_one_line_naming_server_port(env):
    import socket

    from .conftest import free_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = grok2api("run", env={**env, "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port),
                                      "TOKEN_POOL_ADDR": f"127.0.0.1:{free_port()}"})
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SERVER_PORT" in lines[0] and str(port) in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    """The lines of stderr that report an error (an informational line may precede them)."""
    return [line for line in result.stderr.splitlines() if line.startswith("grok2api:")]


@pytest.fixture
def no_pool_env(env, tmp_path):
    """No pool runs (tokens commands use the store directly); a credentials file to import."""
    credentials = tmp_path / "credentials.txt"
    credentials.write_text("cli-credential-" + "c" * 30 + "\n")
    return {**env, "TOKEN_POOL_ADDR": "127.0.0.1:1"}


def test_a_malformed_encryption_key_ends_tokens_import_with_one_line(no_pool_env, tmp_path):
    env = {**no_pool_env, "GROK2API_SECURITY__ENCRYPTION_KEY": "notakey"}
    result = grok2api_in_process("tokens", "import", str(tmp_path / "credentials.txt"), env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    [line] = error_lines(result)
    assert line.startswith("grok2api: security.encryption_key is not a valid key")


def test_debug_shows_the_traceback_behind_the_line(no_pool_env, tmp_path):
    env = {**no_pool_env, "GROK2API_SECURITY__ENCRYPTION_KEY": "notakey"}
    result = grok2api_in_process(
        "--debug", "tokens", "import", str(tmp_path / "credentials.txt"), env=env
    )
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "EncryptionKeyError" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("grok2api: security.encryption_key")


def test_an_unreachable_store_is_one_line_naming_storage_url_with_the_password_masked(
    no_pool_env,
):
    env = {**no_pool_env, "SERVER_STORAGE_TYPE": "pgsql",
           "SERVER_STORAGE_URL": "postgresql://u:s3cret@127.0.0.1:1/test"}
    result = grok2api_in_process("tokens", "list", env=env)
    assert result.returncode == 2
    [line] = error_lines(result)
    assert "server.storage_url" in line and "127.0.0.1:1" in line
    assert "s3cret" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_store_url_of_another_scheme_is_one_line_naming_the_setting(no_pool_env):
    env = {**no_pool_env, "SERVER_STORAGE_TYPE": "mysql", "SERVER_STORAGE_URL": "ftp://db/x"}
    result = grok2api_in_process("tokens", "list", "--local", env=env)
    assert result.returncode == 2
    assert error_lines(result) == [
        "grok2api: server.storage_url scheme 'ftp' does not match server.storage_type='mysql' "
        "(expected mysql+aiomysql://…)"
    ]
    assert "Traceback" not in result.stderr


def test_an_unreachable_redis_is_one_line_for_tokens_commands(no_pool_env):
    result = grok2api_in_process("tokens", "list", env={**no_pool_env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 2
    [line] = error_lines(result)
    assert "REDIS_URL" in line and "Traceback" not in result.stderr


def test_a_missing_import_file_is_one_line(no_pool_env, tmp_path):
    result = grok2api_in_process("tokens", "import", str(tmp_path / "missing.txt"), env=no_pool_env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"grok2api: cannot read {tmp_path / 'missing.txt'}: No such file or directory"
    ]


@pytest.mark.parametrize(
    ("target", "workers"), [("all", "1"), ("token-pool", "1"), ("all", "2")]
)
def test_a_taken_token_pool_addr_stops_run_with_one_line_naming_it(env, target, workers):
    import socket

    from grok2api_storage import crypto

    from .conftest import free_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        pool_port = taken.getsockname()[1]
        result = grok2api("run", "--target", target, env={
            **env, "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(free_port()),
            "TOKEN_POOL_ADDR": f"127.0.0.1:{pool_port}", "REDIS_URL": "redis://127.0.0.1:6379/0",
            "GROK2API_SECURITY__ENCRYPTION_KEY": crypto.generate_key(), "SERVER_WORKERS": workers,
        })  # fmt: skip
    assert result.returncode == 3
    [line] = result.stderr.strip().splitlines()
    assert f":{pool_port} for the token pool" in line and "TOKEN_POOL_ADDR" in line, line


def test_several_workers_stop_when_their_pool_process_cannot_start(env):
    from .conftest import free_port

    result = grok2api("run", env={
        **env, "SERVER_WORKERS": "2", "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(free_port()),
        "TOKEN_POOL_ADDR": f"127.0.0.1:{free_port()}",
    })  # fmt: skip
    assert result.returncode == 3
    child, parent = result.stderr.strip().splitlines()
    assert "security.encryption_key is empty" in child  # a split pool needs a shared key
    assert parent.startswith("grok2api: the token-pool process stopped with status 3")
