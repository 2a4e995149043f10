"""Helpers for tests of any team: a control-API handle and ways to run a simulator.

    with running_simulator(seed=1) as sim:          # in-process, background thread
        sim.add_account("tok-1", tier="super")
        ... point the client at sim.base_url ...

    with SimulatorProcess(accounts_file=path) as sim:   # separate process (e2e tests)
        ...

Both yield a `SimHandle`; every method goes through the HTTP control API, so a handle works
the same against an in-process server, a subprocess or a `grok2api sim` started by hand.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx2

from . import server
from .errors import SimError
from .options import SimOptions
from .state import SeedAccount


class SimHandle:
    """Control of one running simulator at `base_url` (http://127.0.0.1:PORT)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx2.Client(base_url=self.base_url, timeout=10.0)

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx2.HTTPError as error:
            raise SimError(f"control call {path} failed: {error}") from error
        if answer.status_code >= 400:
            raise SimError(
                f"control call {path} failed status={answer.status_code}: {answer.text}"
            )
        return answer.json()

    def add_account(
        self, credential: str, tier: str = "basic", quotas: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Add (or replace) an account; `quotas` overrides windows per mode, e.g.
        `{"auto": 3}` or `{"auto": {"total": 20, "remaining": 3, "window_seconds": 60}}`."""
        return self._call("POST", "/_sim/accounts",
                          json={"credential": credential, "tier": tier, "quotas": quotas})

    def remove_account(self, credential: str) -> bool:
        return bool(self._call("POST", "/_sim/accounts/remove",
                               json={"credential": credential})["removed"])

    def accounts(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/_sim/accounts")["accounts"])

    def set_fault(
        self, kind: str, account: str | None = None, times: int | None = None,
        path: str | None = None, **params: Any,
    ) -> list[dict[str, Any]]:
        """Arm a fault (global when `account` is None; `times=None` means always)."""
        return list(self._call("POST", "/_sim/faults", json={
            "kind": kind, "account": account, "times": times, "path": path, "params": params,
        })["faults"])

    def clear_faults(self, account: str | None = None) -> None:
        self._call("POST", "/_sim/faults/clear", json={"account": account})

    def script_reply(
        self, text: str = "", *, reasoning: str | None = None, search: str | bool | None = None,
        account: str | None = None, times: int = 1,
    ) -> None:
        """Queue what the model answers next (per account when `account` is given)."""
        self._call("POST", "/_sim/replies", json={
            "text": text, "reasoning": reasoning, "search": search, "account": account,
            "times": times,
        })

    def requests(self, path: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Recorded upstream requests (method, path, query, headers, json, body)."""
        params: dict[str, Any] = {}
        if path:
            params["path"] = path
        if limit:
            params["limit"] = limit
        return list(self._call("GET", "/_sim/requests", params=params)["requests"])

    def quota(self, credential: str, mode: str = "auto") -> dict[str, Any]:
        """{total, remaining, windowSeconds, used} of one account's mode window."""
        payload = {"credential": credential, "mode": mode}
        return dict(self._call("POST", "/_sim/quota", json=payload))

    def set_options(self, **options: Any) -> dict[str, Any]:
        """Change time_scale, token_delay_ms, tokens_per_reply or seed at runtime."""
        return dict(self._call("POST", "/_sim/options", json=options))

    def reset(self) -> None:
        self._call("POST", "/_sim/reset")

    def require_clearance(self, required: bool = True, *, ttl_seconds: float | None = None) -> None:
        """Switch Cloudflare clearance enforcement on every upstream endpoint on (or off)."""
        changes: dict[str, Any] = {"clearance_required": required}
        if ttl_seconds is not None:
            changes["clearance_ttl_seconds"] = ttl_seconds
        self.set_options(**changes)

    def open_mgw_sockets(self) -> int:
        """mgw WebSockets the simulator holds open now (its own view of what clients left)."""
        return int(self._call("GET", "/_sim/connections")["mgw_sockets"])

    def clearance(self) -> dict[str, Any]:
        """{required, issued, challenged, active, pendingChallenges}: counts per address."""
        return dict(self._call("GET", "/_sim/clearance"))

    def clearances_issued(self, address: str | None = None) -> int:
        """Clearances issued since the last reset, to `address` or in all."""
        issued: dict[str, int] = self.clearance()["issued"]
        return issued.get(address, 0) if address else sum(issued.values())

    def challenge(self, address: str, *, times: int = 1) -> None:
        """Challenge the next `times` requests from `address` (its clearances stop counting)."""
        self._call("POST", "/_sim/clearance/challenge", json={"address": address, "times": times})

    def revoke_clearances(self, address: str | None = None) -> int:
        """Revoke the clearances of `address` (every address when None); how many."""
        return int(self._call("POST", "/_sim/clearance/revoke",
                              json={"address": address})["revoked"])

    def close(self) -> None:
        self._http.close()


@contextlib.contextmanager
def running_simulator(
    *, accounts: Sequence[SeedAccount] = (), host: str = "127.0.0.1", **options: Any
) -> Iterator[SimHandle]:
    """An in-process simulator on an ephemeral port for the duration of the block."""
    config = server.uvicorn_config(host=host, port=0, options=SimOptions(**options),
                                   seed_accounts=accounts)
    threaded = server.ThreadedServer(config)
    port = threaded.start()
    handle = SimHandle(f"http://{host}:{port}")
    try:
        yield handle
    finally:
        handle.close()
        threaded.stop()


class SolverHandle:
    """Control of one running FlareSolverr-compatible solver at `base_url`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx2.Client(base_url=self.base_url, timeout=30.0)

    def solve(
        self, url: str, *, proxy: Mapping[str, Any] | None = None, max_timeout_ms: int = 20000
    ) -> dict[str, Any]:
        """POST /v1 request.get as a FlareSolverr client would; the whole answer."""
        command: dict[str, Any] = {"cmd": "request.get", "url": url, "maxTimeout": max_timeout_ms}
        if proxy is not None:
            command["proxy"] = dict(proxy)
        return dict(self._http.post("/v1", json=command).json())

    def fail_next(self, times: int = 1, message: str | None = None) -> None:
        """Make the next `times` solves answer FlareSolverr's error shape."""
        self._http.post("/_solver/fail", json={"times": times, "message": message})

    def stats(self) -> dict[str, Any]:
        """{"solves": {proxy endpoint or "direct": n}, "failures": n}."""
        return dict(self._http.get("/_solver/stats").json())

    def close(self) -> None:
        self._http.close()


@contextlib.contextmanager
def running_solver(*, host: str = "127.0.0.1") -> Iterator[SolverHandle]:
    """An in-process FlareSolverr-compatible solver on an ephemeral port."""
    threaded = server.ThreadedServer(server.solver_config(host=host, port=0))
    port = threaded.start()
    handle = SolverHandle(f"http://{host}:{port}")
    try:
        yield handle
    finally:
        handle.close()
        threaded.stop()


class SimulatorProcess:
    """`python -m grok_sim serve` in a subprocess on a free port (for end-to-end tests)."""

    def __init__(
        self, *, accounts_file: Path | None = None, port: int = 0, seed: int = 0,
        time_scale: float = 1.0, token_delay_ms: float = 0.0, extra_args: Sequence[str] = (),
    ) -> None:
        self.port = port or _free_port()
        self.args = [sys.executable, "-m", "grok_sim", "serve", "--host", "127.0.0.1",
                     "--port", str(self.port), "--seed", str(seed), "--time-scale",
                     str(time_scale), "--token-delay-ms", str(token_delay_ms), *extra_args]
        if accounts_file is not None:
            self.args += ["--accounts", str(accounts_file)]
        self.process: subprocess.Popen[bytes] | None = None
        self.handle: SimHandle | None = None
        # A file, not a pipe: nobody drains a pipe, and a full pipe would block the server.
        self.log = tempfile.TemporaryFile()

    def start(self, *, timeout: float = 20.0) -> SimHandle:
        self.process = subprocess.Popen(self.args, env=dict(os.environ),
                                        stdout=self.log, stderr=subprocess.STDOUT)
        handle = SimHandle(f"http://127.0.0.1:{self.port}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SimError(
                    f"simulator exited rc={self.process.returncode}: {self.output()[-2000:]}"
                )
            with contextlib.suppress(httpx2.HTTPError):
                if handle._http.get("/_sim/health").status_code == 200:
                    self.handle = handle
                    return handle
            time.sleep(0.05)
        self.stop()
        raise SimError("simulator process did not become healthy")

    def output(self) -> str:
        """What the simulator process printed so far (stdout and stderr)."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def __enter__(self) -> SimHandle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


