"""The processes of ``bench_gateway.py``: the simulator and one gateway per chat protocol.

``start_processes`` starts the simulator and `grok2api run` (as a user starts it) or, with
``upstream="canned"``, the gateway app wired by hand around a canned upstream client
(``bench_gateway.py serve-gateway``, :func:`serve_gateway`). Everything on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH_SCRIPT = Path(__file__).with_name("bench_gateway.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"process exited early rc={process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise SystemExit(f"port {port} never opened")


async def serve_gateway(args: argparse.Namespace) -> None:
    """The `--upstream canned` process: the gateway app wired by hand around an in-process
    pool and a canned upstream client, to measure the gateway without the Grok web client."""
    import uvicorn
    from gateway.app import create_app
    from grok2api_poolclient.leases import Tier
    from grok2api_settings import Settings
    from grok2api_settings.live import LiveSettings
    from grok2api_storage import load_cipher, open_store
    from grok_web.client import GrokClient
    from grok_web.options import ClientOptions
    from token_pool.hot.memory import MemoryHotState
    from token_pool.service import PoolService
    from token_pool.usage import GrokUsageReader

    live = LiveSettings(Settings.model_validate({
        "data_dir": args.data_dir,
        "network": {"base_url": args.sim_url, "assets_url": args.sim_url,
                    "chat_protocol": args.protocol},
        "token": {"max_inflight_per_account": 64},
        "log": {"level": "WARNING"},
    }))
    store = await open_store(live.current, cipher=load_cipher(live.current, allow_generate=True))
    await store.migrate()
    grok = GrokClient(options=ClientOptions.from_settings(live.current))
    pool = PoolService(settings=lambda: live.current, repo=store.accounts,
                       hot=MemoryHotState(), reader=GrokUsageReader(grok))
    await pool.start(background=False)
    for index in range(args.accounts):
        await pool.upsert_account(credential=f"sso-bench-{index}", tier=Tier.SUPER)
    async for _ in pool.refresh_usage(all_accounts=True):
        pass
    upstream: Any = grok if args.upstream == "grok" else CannedGrok()
    app = create_app(settings=live, pool=pool, grok=upstream, client_keys=store.client_keys)
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning",
                            access_log=False)
    gc.collect()
    gc.freeze()  # as `grok2api run` does once started (see grok2api_cli.runtime)
    await uvicorn.Server(config).serve()


class CannedGrok:
    """An upstream client answering at once with a simulator-sized reply, no network: with
    ``--upstream canned`` the gateway's CPU per request excludes the Grok web client."""

    async def chat_batches(self, *, credential: str, request: Any) -> Any:
        from grok_web import events

        words = [" word"] * 12
        yield [events.ConversationStarted(conversation_id="c")]
        for word in words:
            yield [events.TextDelta(text=word)]
        yield [events.Final(response_id="r", message="".join(words))]

    async def upload_file(self, **_: Any) -> Any:
        raise RuntimeError("the canned upstream takes no attachments")


def start_simulator(accounts: int, data_dir: str) -> subprocess.Popen[bytes]:
    sim_port = free_port()
    accounts_file = Path(data_dir) / "accounts.json"
    accounts_file.write_text(json.dumps([
        {"credential": f"sso-bench-{i}", "tier": "super",
         "quotas": {mode: 10_000_000 for mode in ("auto", "fast", "expert", "heavy")}}
        for i in range(accounts)
    ]))
    sim = subprocess.Popen([sys.executable, "-m", "grok_sim", "serve", "--port", str(sim_port),
                            "--accounts", str(accounts_file)], stdout=subprocess.DEVNULL)
    wait_port(sim_port, sim)
    sim.port = sim_port  # type: ignore[attr-defined]
    return sim


def start_gateway(
    sim: Any, accounts: int, data_dir: str, loop: str, upstream: str, *, protocol: str = "rest",
    wrapper: Sequence[str] = (), startup_timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """A gateway in front of ``sim`` speaking ``protocol`` upstream, its data in a
    ``protocol``-named folder of ``data_dir`` (one database per gateway)."""
    gw_port = free_port()
    sim_url = f"http://127.0.0.1:{sim.port}"
    own_dir = Path(data_dir) / f"gateway-{protocol}"
    own_dir.mkdir(exist_ok=True)
    if upstream == "grok":
        gateway = start_single_process(gw_port, sim_url, accounts, str(own_dir),
                                       protocol=protocol, wrapper=wrapper,
                                       startup_timeout=startup_timeout)
    else:
        gateway = subprocess.Popen([
            sys.executable, str(BENCH_SCRIPT), "serve-gateway", "--port", str(gw_port),
            "--sim-url", sim_url, "--accounts", str(accounts), "--data-dir", str(own_dir),
            "--loop", loop, "--upstream", upstream, "--protocol", protocol,
        ])
        wait_port(gw_port, gateway)
    gateway.port = gw_port  # type: ignore[attr-defined]
    return gateway


def start_processes(
    accounts: int, data_dir: str, loop: str, upstream: str, *, wrapper: Sequence[str] = (),
    startup_timeout: float = 60.0, protocol: str = "rest",
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """The simulator and the gateway; ``wrapper`` prefixes the `grok2api run` command (a
    profiler, say), which may then need a longer ``startup_timeout``."""
    sim = start_simulator(accounts, data_dir)
    gateway = start_gateway(sim, accounts, data_dir, loop, upstream, protocol=protocol,
                            wrapper=wrapper, startup_timeout=startup_timeout)
    return sim, gateway


def start_single_process(
    port: int, sim_url: str, accounts: int, data_dir: str, *, protocol: str = "rest",
    wrapper: Sequence[str] = (), startup_timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """`grok2api run` exactly as a user starts it (default settings but the upstream URLs,
    the chat protocol and a per-account concurrency cap the load needs), with the benchmark
    accounts added and their quotas read from the simulator through the pool's gRPC API."""
    pool_addr = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ, "DATA_DIR": data_dir, "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port),
        "TOKEN_POOL_ADDR": pool_addr, "LOG_FILE_ENABLED": "false",
        "GROK2API_NETWORK__BASE_URL": sim_url, "GROK2API_NETWORK__ASSETS_URL": sim_url,
        "GROK2API_NETWORK__ACCOUNTS_URL": sim_url, "GROK2API_TOKEN__MAX_INFLIGHT_PER_ACCOUNT": "64",
        "GROK2API_NETWORK__CHAT_PROTOCOL": protocol,
    }
    gateway = subprocess.Popen([*wrapper, sys.executable, "-m", "grok2api_cli.main", "run"],
                               env=env, stdout=subprocess.DEVNULL)
    wait_port(port, gateway, timeout=startup_timeout)
    asyncio.run(add_accounts(pool_addr, accounts))
    return gateway


async def add_accounts(pool_addr: str, accounts: int) -> None:
    from grok2api_poolclient.grpc_transport import GrpcPoolClient
    from grok2api_poolclient.leases import Tier

    async with GrpcPoolClient(pool_addr) as pool:
        for index in range(accounts):
            await pool.upsert_account(credential=f"sso-bench-{index}", tier=Tier.SUPER)
        async for _ in pool.refresh_usage(all_accounts=True):
            pass
