"""`make demo`: the gateway end to end with no Grok account.

Starts the upstream simulator with a few demo accounts, then the single-process gateway
pointed at it (network.base_url / assets_url / accounts_url), adds the same accounts to
the pool, sends one chat request to show it works, and keeps both running until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from curl_cffi import requests
from grok_sim.testing import SimulatorProcess

DEMO_ACCOUNTS = [("demo-basic-1", "basic"), ("demo-basic-2", "basic"), ("demo-super-1", "super")]
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"demo: the gateway exited with code {proc.returncode}")
        try:
            if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestsError:
            pass
        time.sleep(0.3)
    sys.exit("demo: the gateway did not become ready")


async def add_accounts(pool_addr: str) -> None:
    from grok2api_poolclient.grpc_transport import GrpcPoolClient
    from grok2api_poolclient.leases import Tier

    async with GrpcPoolClient(pool_addr) as pool:
        for credential, tier in DEMO_ACCOUNTS:
            await pool.upsert_account(credential=credential, tier=Tier(tier), note="demo")


def main() -> None:
    port = int(os.environ.get("SERVER_PORT", "8000"))
    pool_addr = f"127.0.0.1:{free_port()}"
    data_dir = Path(os.environ.get("DATA_DIR") or tempfile.mkdtemp(prefix="grok2api-demo-"))
    accounts_file = data_dir / "sim-accounts.txt"
    data_dir.mkdir(parents=True, exist_ok=True)
    accounts_file.write_text("".join(f"{c} {t}\n" for c, t in DEMO_ACCOUNTS))
    with SimulatorProcess(accounts_file=accounts_file) as sim:
        env = {
            **os.environ,
            "DATA_DIR": str(data_dir),
            "SERVER_HOST": "127.0.0.1",
            "SERVER_PORT": str(port),
            "TOKEN_POOL_ADDR": pool_addr,
            "LOG_FILE_ENABLED": "false",
            "GROK2API_NETWORK__BASE_URL": sim.base_url,
            "GROK2API_NETWORK__ASSETS_URL": sim.base_url,
            "GROK2API_NETWORK__ACCOUNTS_URL": sim.base_url,
        }
        gateway = subprocess.Popen([sys.executable, "-m", "grok2api_cli.main", "run"], env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, gateway)
            asyncio.run(add_accounts(pool_addr))
            answer = requests.post(
                f"{base}/v1/chat/completions",
                json={"model": "grok-4", "stream": False,
                      "messages": [{"role": "user", "content": "Say hello to the demo."}]},
                timeout=30,
            ).json()
            print("\n--- demo ready ---------------------------------------------")
            names = ", ".join(c for c, _ in DEMO_ACCOUNTS)
            print(f"simulator:  {sim.base_url}  (accounts: {names})")
            print(f"gateway:    {base}/v1   data dir: {data_dir}")
            print(f"sample answer: {answer['choices'][0]['message']['content']!r}")
            print(f"try:  curl {base}/v1/chat/completions -H 'Content-Type: application/json' "
                  "-d '{\"model\":\"grok-4\",\"stream\":true,"
                  "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}'")
            print("Ctrl-C stops both.")
            gateway.wait()
        except KeyboardInterrupt:
            pass
        finally:
            if gateway.poll() is None:
                gateway.send_signal(signal.SIGTERM)
                gateway.wait(15)


if __name__ == "__main__":
    main()
