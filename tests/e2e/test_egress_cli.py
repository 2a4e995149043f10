"""``grok2api egress`` as an operator runs it: against a running token-pool service (gRPC,
Redis hot state) and, with no pool, on the store directly. An egress through a real
tinyproxy (or dante, SOCKS5 with remote DNS) exiting from its own loopback address gets its
clearance from the simulator's FlareSolverr-compatible solver (``egress refresh``), then
tests OK against the simulator's Cloudflare front; a proxy that is down is reported failed
with what to do; proxy credentials and cookies appear in no output or log."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from grok2api_cli import main
from grok_sim.testing import SimHandle, SolverHandle, running_solver
from typer.testing import CliRunner

from .conftest import Service, free_port, wait_grpc

sys.path.insert(0, str(Path(__file__).parents[1] / "egress"))
from egress_proxies import Credentials, RunningProxy, running_dante, running_tinyproxy

pytestmark = pytest.mark.e2e

CREDENTIALS = Credentials(username="cli-user", password="cli-pr0xy-s3cret")
SECRET = CREDENTIALS.password
EXIT_ADDRESS = "127.0.0.41"


def grok2api(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``grok2api`` run in this process (typer's CliRunner on the same app, exactly ``env``
    as its environment): a client of the pool needs no process of its own, and each
    interpreter start would cost seconds."""
    environment: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    environment.update(env)
    result = CliRunner().invoke(main.app, list(args), env=environment)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        ["grok2api", *args], result.exit_code, result.stdout, result.stderr
    )


def said(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def solver() -> Iterator[SolverHandle]:
    with running_solver() as handle:
        yield handle


@pytest.fixture
def env(base_env: dict[str, str], solver: SolverHandle) -> dict[str, str]:
    """Settings of every process here: the simulator upstream, the solver."""
    return {**base_env, "GROK2API_EGRESS__SOLVER_URL": solver.base_url}


@pytest.fixture
def local_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """No pool runs: the CLI opens the store directly."""
    (tmp_path / "data").mkdir()
    return {**env, "TOKEN_POOL_ADDR": f"127.0.0.1:{free_port()}"}


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[RunningProxy]:
    with running_tinyproxy(
        exit_address=EXIT_ADDRESS, workdir=tmp_path / "tinyproxy", credentials=CREDENTIALS
    ) as running:
        yield running


@pytest.fixture
def down_proxy() -> str:
    """A proxy URL (with credentials) where nothing listens."""
    return f"http://{CREDENTIALS.username}:{SECRET}@127.0.0.1:{free_port()}"


@pytest.fixture
def pool_env(env: dict[str, str], redis_db: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a CLI next to a running token-pool service; the service's output
    is checked for secrets when it stops."""
    env = {**env, "REDIS_URL": redis_db, "TOKEN_POOL_ADDR": f"127.0.0.1:{free_port()}",
           "SERVER_STORAGE_TYPE": "local"}  # fmt: skip
    (tmp_path / "data").mkdir()
    service = Service("token-pool", {**env, "SERVER_PORT": str(free_port())})
    try:
        wait_grpc(env["TOKEN_POOL_ADDR"], service)
        yield env
    finally:
        output = service.stop()
    assert SECRET not in output
    assert "Traceback" not in output, output


def test_an_egress_through_a_real_proxy_tests_ok_and_a_dead_one_fails_clearly(
    pool_env: dict[str, str], proxy: RunningProxy, down_proxy: str, simulator: SimHandle
) -> None:
    added = grok2api("egress", "add", "office", "--proxy", proxy.url(), "--tag", "team-a",
                     env=pool_env)  # fmt: skip
    assert added.returncode == 0, said(added)
    assert f"office http://127.0.0.1:{proxy.port}" in added.stdout
    assert "not reachable" not in added.stderr  # over gRPC, not the store directly
    assert grok2api("egress", "add", "down", "--proxy", down_proxy, env=pool_env).returncode == 0
    # the pool may have refreshed it on its own already (an egress without clearance)
    refreshed = grok2api("egress", "refresh", "office", env=pool_env)
    assert refreshed.stdout.strip() in ("office: refreshed", "office: fresh"), said(refreshed)

    one = grok2api("egress", "test", "office", env=pool_env)
    everything = grok2api("egress", "test", "--all", env=pool_env)

    assert one.returncode == 0, said(one)
    assert one.stdout.splitlines()[0].split()[:3] == ["ok", "office", "200"]
    assert "1 of 1 egresses passed" in one.stdout
    assert everything.returncode == 1, said(everything)
    lines = {line.split()[1]: line for line in everything.stdout.splitlines()[:2]}
    assert lines["office"].startswith("ok")
    assert lines["down"].startswith("FAILED  down")
    assert "check that the proxy is up" in lines["down"]
    assert "1 of 2 egresses passed" in everything.stdout
    assert "testing" in everything.stderr  # the progress bar, on stderr
    # the clearance that passed was obtained from the proxy's own exit address
    assert simulator.clearances_issued(EXIT_ADDRESS) >= 1
    for result in (added, refreshed, one, everything):
        assert SECRET not in said(result)


def test_a_socks5h_egress_through_a_real_dante_tests_ok(
    pool_env: dict[str, str], simulator: SimHandle, tmp_path: Path
) -> None:
    with running_dante(exit_address="127.0.0.42", workdir=tmp_path / "dante") as socks:
        added = grok2api("egress", "add", "socks", "--proxy", socks.url(scheme="socks5h"),
                         env=pool_env)  # fmt: skip
        grok2api("egress", "refresh", "socks", env=pool_env)
        tested = grok2api("egress", "test", "socks", env=pool_env)

    assert added.returncode == 0, said(added)
    assert f"socks socks5h://127.0.0.1:{socks.port}" in added.stdout
    assert tested.returncode == 0, said(tested)
    assert tested.stdout.startswith("ok      socks  200")
    assert simulator.clearances_issued("127.0.0.42") >= 1


def test_list_show_update_refresh_and_remove_over_grpc(
    pool_env: dict[str, str], proxy: RunningProxy
) -> None:
    grok2api("egress", "add", "office", "--proxy", proxy.url(), "--max-inflight", "4",
             "--clearance", "pasted-clearance-value-0123456789", "--user-agent", "UA/1",
             env=pool_env)  # fmt: skip

    updated = grok2api("egress", "update", "office", "--tag", "fast", "--disable", env=pool_env)
    listed = grok2api("egress", "list", "--json", env=pool_env)
    table = grok2api("egress", "list", env=pool_env)
    shown = grok2api("egress", "show", "office", env=pool_env)

    assert updated.returncode == 0, said(updated)
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["name"], row["proxy_masked"], row["tags"], row["enabled"], row["max_inflight"]) == (
        "office", f"http://127.0.0.1:{proxy.port}", ["fast"], False, 4,
    )  # fmt: skip
    assert row["clearance"]["source"] == "manual" and row["clearance"]["user_agent"] == "UA/1"
    assert "office" in table.stdout and "disabled" in table.stdout
    assert "tags                  fast" in shown.stdout
    for result in (updated, listed, table, shown):
        assert SECRET not in said(result) and "pasted-clearance" not in said(result)

    removed = grok2api("egress", "remove", "office", env=pool_env)
    missing = grok2api("egress", "remove", "office", env=pool_env)

    assert removed.stdout.strip() == "removed office"
    assert grok2api("egress", "list", "--json", env=pool_env).stdout == ""
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        "grok2api: no egress named 'office' (see grok2api egress list)"
    )


def test_import_adds_then_updates_by_name_and_reports_each_failure(
    pool_env: dict[str, str], proxy: RunningProxy, tmp_path: Path
) -> None:
    listing = tmp_path / "egresses.yaml"
    listing.write_text(
        f"- name: office\n  proxy: {proxy.url()}\n  tags: [team-a]\n"
        f"- http://127.0.0.1:{proxy.port}\n"
        "- name: no-cookie\n  clearance: sso=an-account-cookie-not-a-clearance\n"
    )

    first = grok2api("egress", "import", str(listing), "--tag", "bulk", env=pool_env)
    again = grok2api("egress", "import", str(listing), env=pool_env)

    assert first.returncode == 1, said(first)
    assert "added 2, updated 0, failed 1 of 3 egresses" in first.stdout
    assert "no-cookie: clearance_cookies holds no clearance cookie" in first.stderr
    assert "importing" in first.stderr
    assert "added 0, updated 2, failed 1 of 3 egresses" in again.stdout
    rows = {
        row["name"]: row
        for row in map(json.loads, grok2api("egress", "list", "--json", env=pool_env)
                       .stdout.splitlines())
    }  # fmt: skip
    assert set(rows) == {"office", f"127.0.0.1:{proxy.port}"}
    assert rows["office"]["tags"] == ["team-a"]  # the file's tags; --tag was for that run
    for result in (first, again):
        assert SECRET not in said(result)


def test_without_a_pool_the_cli_works_on_the_store_and_tests_through_the_proxy(
    local_env: dict[str, str], proxy: RunningProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    added = grok2api("egress", "add", "office", "--proxy", proxy.url(), env=local_env)
    refreshed = grok2api("egress", "refresh", "office", env=local_env)
    tested = grok2api("egress", "test", "office", env=local_env)
    listed = grok2api("egress", "list", "--json", env=local_env)

    assert added.returncode == 0, said(added)
    assert "using the store directly" in added.stderr
    assert refreshed.stdout.strip() == "office: refreshed", said(refreshed)
    assert tested.returncode == 0, said(tested)
    assert tested.stdout.startswith("ok      office  200")
    assert json.loads(listed.stdout)["clearance"]["source"] == "solver"
    for result in (added, refreshed, tested, listed):
        assert SECRET not in said(result) and "cf_clearance" not in said(result)
    assert SECRET not in caplog.text  # the in-process pool's log


def test_refresh_without_a_solver_says_to_configure_one(
    local_env: dict[str, str], proxy: RunningProxy
) -> None:
    env = {**local_env, "GROK2API_EGRESS__SOLVER_URL": ""}
    grok2api("egress", "add", "office", "--proxy", proxy.url(), env=env)

    refreshed = grok2api("egress", "refresh", "office", env=env)
    tested = grok2api("egress", "test", "office", env=env)

    assert refreshed.returncode == 1
    assert (
        refreshed.stdout.startswith("office: no_solver") and "egress.solver_url" in refreshed.stdout
    )
    assert tested.returncode == 1
    assert tested.stdout.startswith(
        "FAILED  office  403  challenged  challenged: paste a clearance"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ("add", "x", "--proxy", f"ftp://u:{SECRET}@127.0.0.1:21"),
            "grok2api: proxy_url must be scheme://[user:password@]host:port",
            id="bad-proxy-scheme",
        ),
        pytest.param(("test",), "grok2api: give egress names or --all", id="test-nothing"),
        pytest.param(("show", "nowhere"), "grok2api: no egress named 'nowhere'", id="unknown"),
    ],
)
def test_config_errors_end_with_one_line_and_status_2(
    local_env: dict[str, str], args: tuple[str, ...], expected: str
) -> None:
    result = grok2api("egress", *args, env=local_env)

    assert result.returncode == 2, said(result)
    errors = [line for line in result.stderr.splitlines() if line.startswith("grok2api:")]
    assert len(errors) == 1 and errors[0].startswith(expected), result.stderr
    assert SECRET not in said(result) and "Traceback" not in said(result)


def test_a_bad_import_file_is_one_line_naming_the_entry(
    local_env: dict[str, str], tmp_path: Path
) -> None:
    listing = tmp_path / "egresses.json"
    listing.write_text(json.dumps([{"name": "a"}, {"name": "b", "proxy": f"ftp://u:{SECRET}@h:1"}]))

    result = grok2api("egress", "import", str(listing), env=local_env)

    assert result.returncode == 2
    assert result.stderr.strip() == f"grok2api: {listing}: entry 2 (proxy): " + (
        "proxy must be scheme://[user:password@]host:port with a scheme of "
        "http, https, socks5, socks5h (or empty for a direct egress)"
    )
