"""`make cluster-up` / `make cluster-down` / `make cluster-status`:

python -m grok2api_cluster up [--workdir .cache/cluster] [--gateways 2] [--accounts 300]
python -m grok2api_cluster status | down
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

from . import database
from .cluster import Cluster, ClusterSpec
from .processes import ProcessFailed, _pid_alive

DEFAULT_WORKDIR = Path(".cache/cluster")


def _state(workdir: Path) -> dict[str, object] | None:
    path = workdir / "cluster.json"
    return json.loads(path.read_text()) if path.exists() else None


def up(args: argparse.Namespace) -> int:
    if (state := _state(args.workdir)) is not None and any(
        _pid_alive(pid)
        for pid in state["pids"].values()  # type: ignore[attr-defined]
    ):
        print(f"a cluster is already up (see {args.workdir / 'cluster.json'}); "
              "`make cluster-down` stops it")  # fmt: skip
        return 1
    spec = ClusterSpec(gateways=args.gateways, pools=args.pools, workers=args.workers,
                       accounts=args.accounts)  # fmt: skip
    cluster = Cluster(args.workdir.resolve(), spec)
    print(
        f"starting {spec.gateways} gateways, {spec.pools} token pools, {spec.workers} media "
        f"workers, admin, Redis, PostgreSQL and the simulator with {spec.accounts} accounts…"
    )
    try:
        cluster.start()
    except ProcessFailed as exc:
        print(f"the cluster did not start: {exc}", file=sys.stderr)
        return 1
    path = cluster.save()
    for key, value in cluster.describe().items():
        if key != "pids":
            print(f"  {key:15} {value}")
    print(
        f"\nready. OPENAI_BASE_URL={cluster.url}/v1 (any API key); state in {path}; "
        "`make cluster-down` stops it"
    )
    return 0


def _recorded(workdir: Path) -> tuple[dict[str, object], dict[str, int]] | None:
    """The state `up` saved and its processes' pids, or None (said) when there is none."""
    state = _state(workdir)
    if state is None:
        print(f"no cluster recorded in {workdir}")
        return None
    return state, state["pids"]  # type: ignore[return-value]


def down(args: argparse.Namespace) -> int:
    if (recorded := _recorded(args.workdir)) is None:
        return 0
    state, pids = recorded
    for pid in reversed(list(pids.values())):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(_pid_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    database.drop(str(state["database"]))
    (args.workdir / "cluster.json").unlink()
    print(f"stopped {len(pids)} processes and dropped database {state['database']}")
    return 0


def status(args: argparse.Namespace) -> int:
    if (recorded := _recorded(args.workdir)) is None:
        return 1
    state, pids = recorded
    for name, pid in pids.items():
        print(f"  {name:12} pid {pid:<8} {'up' if _pid_alive(pid) else 'DOWN'}")
    print(f"front: {state['url']}")
    return 0 if all(_pid_alive(pid) for pid in pids.values()) else 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m grok2api_cluster")
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--gateways", type=int, default=2)
    parser.add_argument("--pools", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--accounts", type=int, default=300)
    args = parser.parse_args()
    sys.exit({"up": up, "down": down, "status": status}[args.command](args))


if __name__ == "__main__":
    main()
