"""The processes of ``bench_gateway.py``: the simulator and one gateway per chat protocol
(and per client-access variant).

``start_processes`` starts the simulator and `grok2api run` (as a user starts it) or, with
``upstream="canned"`` or an ``access`` variant, the gateway app wired by hand
(``bench_gateway.py serve-gateway``, :func:`serve_gateway`). Everything on 127.0.0.1 (and
the Redis of ``--redis-url`` for the redis variant).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
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
    """The hand-wired gateway process (`--upstream canned`, and every `--access` variant):
    the gateway app around an in-process pool and the Grok web client (or a canned upstream
    client), with the client-access wiring of ``args.access`` (:func:`access_wiring`)."""
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
    async with access_wiring(args, live, store) as access:
        app = create_app(settings=live, pool=pool, grok=upstream, client_keys=store.client_keys,
                         limits=access["limits"], usage_log=access["usage_log"])
        config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning",
                                access_log=False)
        gc.collect()
        gc.freeze()  # as `grok2api run` does once started (see grok2api_cli.runtime)
        # uvicorn re-raises the SIGTERM it stopped on to the handler it found: make that one
        # a no-op, so the usage log is flushed and counted below instead of the process dying.
        signal.signal(signal.SIGTERM, lambda *_: None)
        await uvicorn.Server(config).serve()
    if access["usage_log"] is not None and args.summary_file:
        summary = await store.usage.summary()
        write_file(Path(args.summary_file), json.dumps({
            "stored": sum(bucket.requests for bucket in summary),
            "errors": sum(bucket.errors for bucket in summary),
            "pending_after_drain": access["pending_after_drain"],
        }))
    await store.aclose()


# Every limit of the benchmark key: set, so each is checked and counted, and never reached.
NEVER_REACHED = 1_000_000_000


@contextlib.asynccontextmanager
async def access_wiring(args: argparse.Namespace, live: Any, store: Any
                        ) -> AsyncIterator[dict[str, Any]]:
    """``create_app``'s ``limits`` and ``usage_log`` for ``args.access``, with the client key
    created and written to ``args.key_file``:

    - ``none``: no key in the store (an open API), no limits, no usage log;
    - ``memory``: one key with every limit set, ``MemoryLimitStore`` and the usage log
      straight into the store (the single-process mode);
    - ``redis``: the same key, ``RedisLimitStore`` and the usage log through a Redis list
      and its drainer (a split deployment's gateway), under ``args.redis_prefix``. On exit,
      what the drainer left in the list is drained into the store and every key under the
      prefix is deleted.

    The answer also says (``pending_after_drain``) how many records were still in Redis
    after the final drain (0 for the other modes)."""
    from gateway.access.memory_limits import MemoryLimitStore
    from gateway.access.redis_limits import RedisLimitStore
    from gateway.usage_log import UsageDrainer, UsageKeys, usage_pipeline
    from grok2api_storage.records import ClientKeyLimits

    wiring: dict[str, Any] = {"limits": None, "usage_log": None, "pending_after_drain": 0}
    if args.access == "none":
        yield wiring
        return
    created = await store.client_keys.create(name="bench", limits=ClientKeyLimits(
        rate_limit_per_minute=NEVER_REACHED, max_concurrent=NEVER_REACHED,
        daily_quota=NEVER_REACHED, monthly_quota=NEVER_REACHED,
    ))
    write_file(Path(args.key_file), created.plain_key)
    if args.access == "memory":
        wiring["limits"] = MemoryLimitStore()
        async with usage_pipeline(live, store) as wiring["usage_log"]:
            yield wiring
        await wiring["limits"].aclose()
        return
    from grok2api_cli import redis_clients  # the client every split target uses

    redis = redis_clients.connect(args.redis_url)
    keys = UsageKeys(f"{args.redis_prefix}usage:")
    try:
        wiring["limits"] = RedisLimitStore(redis, prefix=f"{args.redis_prefix}limits:")
        async with usage_pipeline(live, store, redis=redis, keys=keys) as wiring["usage_log"]:
            yield wiring
        await wiring["limits"].aclose()
        drainer = UsageDrainer(redis, store, settings=live, keys=keys)
        deadline = time.monotonic() + 60
        while await redis.llen(keys.pending) and time.monotonic() < deadline:
            if not await drainer.drain():
                await asyncio.sleep(0.2)  # the stopped drainer's lock is still held
        wiring["pending_after_drain"] = int(await redis.llen(keys.pending))
    finally:
        await delete_prefix(redis, args.redis_prefix)
        await redis.aclose()


def write_file(path: Path, text: str) -> None:
    """Whole or not at all (the driver reads it as soon as it is there)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


async def delete_prefix(redis: Any, prefix: str) -> int:
    """Delete every Redis key under ``prefix``; the number deleted."""
    deleted = 0
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        deleted += int(await redis.delete(key))
    return deleted


class CannedGrok:
    """An upstream client answering at once with a simulator-sized reply, no network: with
    ``--upstream canned`` the gateway's CPU per request excludes the Grok web client."""

    async def chat_batches(self, *, credential: str, request: Any, **_: Any) -> Any:
        from grok_web import events

        words = [" word"] * 12
        yield [events.ConversationStarted(conversation_id="c")]
        for word in words:
            yield [events.TextDelta(text=word)]
        yield [events.Final(response_id="r", message="".join(words))]

    async def upload_file(self, **_: Any) -> Any:
        raise RuntimeError("the canned upstream takes no attachments")



def stop(*processes: subprocess.Popen[bytes]) -> None:
    """SIGTERM to every process, then wait for each (SIGKILL past 30 s)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

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
    wrapper: Sequence[str] = (), startup_timeout: float = 60.0, access: str | None = None,
    redis_url: str = "", redis_prefix: str = "", egresses: int = 0,
) -> subprocess.Popen[bytes]:
    """A gateway in front of ``sim`` speaking ``protocol`` upstream, its data in a
    ``protocol``-named folder of ``data_dir`` (one database per gateway). With ``access``
    (none, memory or redis) it is always the hand-wired `serve-gateway` process with that
    client-access wiring (see :func:`access_wiring`); the process then has ``key`` (the
    client key to send, None for none), ``data_dir`` and ``summary_file`` (the usage
    records it stored, written when it stops). ``egresses``: direct egresses added to the
    `grok2api run` pool (its accounts bound across them before the gateway is used)."""
    gw_port = free_port()
    sim_url = f"http://127.0.0.1:{sim.port}"
    own_dir = Path(data_dir) / (f"gateway-{protocol}" if access is None
                                else f"gateway-{protocol}-{access}")
    own_dir.mkdir(exist_ok=True)
    key_file, summary_file = own_dir / "client-key", own_dir / "usage-summary.json"
    if upstream == "grok" and access is None:
        gateway = start_single_process(gw_port, sim_url, accounts, str(own_dir),
                                       protocol=protocol, wrapper=wrapper,
                                       startup_timeout=startup_timeout, egresses=egresses)
    else:
        gateway = subprocess.Popen([
            *wrapper, sys.executable, str(BENCH_SCRIPT), "serve-gateway", "--port", str(gw_port),
            "--sim-url", sim_url, "--accounts", str(accounts), "--data-dir", str(own_dir),
            "--loop", loop, "--upstream", upstream, "--protocol", protocol,
            "--access", access or "none", "--key-file", str(key_file),
            "--summary-file", str(summary_file), "--redis-url", redis_url,
            "--redis-prefix", redis_prefix,
        ])
        wait_port(gw_port, gateway, timeout=startup_timeout)
    gateway.port = gw_port  # type: ignore[attr-defined]
    gateway.data_dir = own_dir  # type: ignore[attr-defined]
    gateway.summary_file = summary_file  # type: ignore[attr-defined]
    gateway.key = (  # type: ignore[attr-defined]
        key_file.read_text() if access not in (None, "none") else None
    )
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
    wrapper: Sequence[str] = (), startup_timeout: float = 60.0, egresses: int = 0,
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
    asyncio.run(add_accounts(pool_addr, accounts, egresses=egresses))
    return gateway


async def add_accounts(pool_addr: str, accounts: int, *, egresses: int = 0) -> None:
    """The benchmark's accounts with their quotas read, and ``egresses`` direct egresses
    (every account bound to one of them before this returns)."""
    from grok2api_poolclient.grpc_transport import GrpcPoolClient
    from grok2api_poolclient.leases import Tier

    async with GrpcPoolClient(pool_addr) as pool:
        for index in range(accounts):
            await pool.upsert_account(credential=f"sso-bench-{index}", tier=Tier.SUPER)
        async for _ in pool.refresh_usage(all_accounts=True):
            pass
        for index in range(egresses):
            await pool.add_egress(name=f"bench-{index}")
        deadline = time.monotonic() + 30
        while egresses:
            bound = sum(egress.bound_accounts for egress in await pool.list_egresses())
            if bound == accounts:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {bound} of {accounts} accounts bound to an egress")
            await asyncio.sleep(0.1)
