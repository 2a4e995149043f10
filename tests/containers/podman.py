"""podman driven from the tests, in a storage of its own (nothing touches the machine's)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = ROOT / "scripts/container/containers.conf"


class PodmanError(AssertionError):
    """A podman command failed; the message carries its output."""


class Podman:
    """``podman --root … --runroot …``: images, containers and networks of one test session."""

    def __init__(self, state: Path) -> None:
        self.global_args = ["--root", str(state / "store"), "--runroot", str(state / "run")]
        self.store = state / "store"
        self.env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}

    def __call__(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        done = subprocess.run(
            ["podman", *self.global_args, *args], env=self.env, capture_output=True,
            text=True, timeout=timeout,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise PodmanError(f"podman {' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def run_script(self, script: str, *args: str, timeout: float = 900) -> str:
        """One of scripts/container/*.sh, pointed at this storage."""
        done = subprocess.run(
            [str(ROOT / "scripts/container" / script), *args, *self.global_args],
            env=self.env, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
        )  # fmt: skip
        if done.returncode != 0:
            raise PodmanError(f"{script} failed: {done.stdout[-4000:]}{done.stderr[-4000:]}")
        return done.stdout

    def start(self, name: str, image: str, *args: str, network: str,
              env: dict[str, str] | None = None, options: tuple[str, ...] = ()) -> str:
        """``podman run -d`` a container named ``name`` with a read-only root filesystem."""
        env_args = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
        self("run", "-d", "--name", name, "--network", network, "--read-only",
             *env_args, *options, image, *args)  # fmt: skip
        return name

    def address(self, name: str) -> str:
        """The container's address on its network (the host reaches it directly)."""
        networks = json.loads(self("inspect", name))[0]["NetworkSettings"]["Networks"]
        return str(next(iter(networks.values()))["IPAddress"])

    def logs(self, name: str) -> str:
        done = subprocess.run(["podman", *self.global_args, "logs", name], env=self.env,
                              capture_output=True, text=True, timeout=30)  # fmt: skip
        return done.stdout + done.stderr

    def running(self, name: str) -> bool:
        return self("inspect", "--format", "{{.State.Running}}", name).strip() == "true"

    def wait_healthy(self, name: str, timeout: float = 90) -> None:
        """Run the image's HEALTHCHECK until it passes (podman here has no systemd timers
        to run it on its own)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running(name):
                raise PodmanError(f"{name} stopped:\n{self.logs(name)}")
            done = subprocess.run(["podman", *self.global_args, "healthcheck", "run", name],
                                  env=self.env, capture_output=True, timeout=30)  # fmt: skip
            if done.returncode == 0:
                return
            time.sleep(0.5)
        raise PodmanError(f"{name} never became healthy:\n{self.logs(name)}")

    def clean(self) -> None:
        """Remove every container and network, then release the storage's mounts."""
        self("rm", "--all", "--force", "--time", "0", check=False)
        self("network", "prune", "--force", check=False)
        subprocess.run(["umount", "--recursive", "--lazy", str(self.store / "overlay")],
                       capture_output=True, check=False)  # fmt: skip
