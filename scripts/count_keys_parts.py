"""Instructions of each part of the client-key hot path, counted by callgrind in one process.

    uv run python scripts/count_keys_parts.py [--variant none|memory|redis|all]
        [--calls 300] [--redis-url redis://127.0.0.1:6379/0]

``count_gateway.py --access`` counts whole requests, so its per-request figure mixes the
per-request parts with fixed costs paid once per usage flush, drain pass or key re-read
(1 s timers): under callgrind the gateway serves so few requests a second that these move
its answer by +-15 k instructions from run to run. This drives the same objects the gateway
wires (``Guard``, a ``MemoryLimitStore`` or ``RedisLimitStore``, the usage log into SQLite
or through Redis and the drainer) without HTTP, one call after the other, and reports each
part per call: ``authenticate`` (a cached key), ``admit`` (``Guard.start`` + ``admit``),
``close`` (release, the record built and buffered), ``flush`` (the buffered records written:
SQLite, or RPUSH) and ``drain`` (redis: read back, decoded, written to SQLite). Each part runs
``--calls`` times and once with 10 calls, so that a flush's or drain's fixed cost and its
cost per record can be told apart. Parts are cut by calls to ``binascii.crc_hqx`` (callgrind
``--dump-before``), which nothing else here calls.
"""

from __future__ import annotations

import argparse
import asyncio
import binascii
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

PARTS = ("authenticate", "admit", "close", "flush", "drain")
FEW = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", choices=("none", "memory", "redis", "all"), default="all")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import uvloop

        uvloop.run(_drive(args.child[0], int(args.child[1]), args.redis_url))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    variants = ("none", "memory", "redis") if args.variant == "all" else (args.variant,)
    for variant in variants:
        many, few = (_count(variant, calls, args.redis_url) for calls in (args.calls, FEW))
        print(f"{variant} ({args.calls} calls; fixed cost from a run of {FEW}):")
        for part, counted in many.items():
            per_call = (counted - few[part]) / (args.calls - FEW)
            fixed = few[part] - FEW * per_call
            line = f"  {part:13s} {per_call / 1e3:8.1f} k per call"
            if part in ("flush", "drain"):
                line += f", {fixed / 1e6:6.2f} M fixed"
            print(line, flush=True)


def _count(variant: str, calls: int, redis_url: str) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as out:
        command = ["valgrind", "-q", "--tool=callgrind", "--dump-before=binascii_crc_hqx",
                   f"--callgrind-out-file={out}/cg.out", sys.executable, __file__,
                   "--redis-url", redis_url, "--child", variant, str(calls)]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        parts = done.stderr.strip().splitlines()[-1].split()
        dumps = sorted(Path(out).glob("cg.out.*"), key=lambda path: int(path.suffix[1:]))
        # dump 1 is everything before the first mark; dump k+1 is the part marked k-th
        totals = [_total(path) for path in dumps[1:]]
    return {part: total for part, total in zip(parts, totals, strict=False) if part in PARTS}


def _total(path: Path) -> int:
    match = re.search(r"^(?:totals|summary):\s+(\d+)", path.read_text(errors="replace"), re.M)
    return int(match.group(1)) if match else 0


async def _drive(variant: str, calls: int, redis_url: str) -> None:
    from gateway.access.directory import KeyDirectory
    from gateway.access.guard import Guard
    from gateway.access.memory_limits import MemoryLimitStore
    from gateway.usage_log.log import UsageLog
    from gateway.usage_log.sink import StoreSink
    from grok2api_settings import Settings
    from grok2api_settings.live import LiveSettings
    from grok2api_storage import load_cipher, open_store
    from grok2api_storage.records import ClientKeyLimits
    from starlette.datastructures import Headers

    marks: list[str] = []

    def mark(part: str) -> None:
        marks.append(part)
        binascii.crc_hqx(b"", 0)

    never = 1_000_000_000  # every limit set, so each is checked and counted, none reached
    data_dir = tempfile.mkdtemp()
    live = LiveSettings(Settings.model_validate({"data_dir": data_dir,
                                                 "log": {"level": "WARNING"}}))
    store = await open_store(live.current, cipher=load_cipher(live.current, allow_generate=True))
    await store.migrate()
    headers: dict[str, str] = {"content-type": "application/json"}
    if variant != "none":
        created = await store.client_keys.create(name="parts", limits=ClientKeyLimits(
            rate_limit_per_minute=never, max_concurrent=never, daily_quota=never,
            monthly_quota=never))
        headers["authorization"] = f"Bearer {created.plain_key}"
    redis: Any = None
    limits: Any = MemoryLimitStore()
    sink: Any = StoreSink(store)
    if variant == "redis":
        from gateway.access.redis_limits import RedisLimitStore
        from gateway.usage_log import UsageDrainer, UsageKeys
        from gateway.usage_log.redis_queue import RedisUsageQueue
        from grok2api_cli import redis_clients

        prefix = f"count-keys-parts-{uuid.uuid4().hex[:12]}:"
        redis = redis_clients.connect(redis_url)
        limits = RedisLimitStore(redis, prefix=f"{prefix}limits:")
        keys = UsageKeys(f"{prefix}usage:")
        sink = RedisUsageQueue(redis, keys=keys)
        drainer = UsageDrainer(redis, store, settings=live, keys=keys)
    usage = None if variant == "none" else UsageLog(sink, settings=live, batch_size=calls + 200)
    guard = Guard(settings=live, directory=KeyDirectory(store.client_keys), limits=limits,
                  usage=usage)
    request_headers = Headers(headers)
    answered = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}

    async def requests(count: int, *, counted: bool) -> None:
        def part(name: str) -> None:
            if counted:
                mark(name)

        part("authenticate")
        callers = [await guard.authenticate(request_headers) for _ in range(count)]
        part("admit")
        meters = []
        for index, caller in enumerate(callers):
            meter = guard.start(caller, endpoint="/v1/chat/completions",
                                request_id=f"request-{index}")
            await guard.admit(meter, model="grok-4", cost=1)
            meters.append(meter)
        part("close")
        for meter in meters:
            meter.first_token()
            meter.succeeded(answered)
            meter.tier = "super"
            await meter.close()
        if usage is not None:
            part("flush")
            await usage.flush()
        if redis is not None:
            part("drain")
            await drainer.drain()  # never started: its lock is free, so this drains it all
        part("end")

    await requests(200, counted=False)  # warm every cache and connection
    await asyncio.sleep(1.1)
    await guard.authenticate(request_headers)  # a fresh read: the counted ones are cache hits
    await requests(calls, counted=True)
    if redis is not None:
        async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
            await redis.delete(key)
        await limits.aclose()
        await redis.aclose()
    await store.aclose()
    print(" ".join(marks), file=sys.stderr)


if __name__ == "__main__":
    main()
