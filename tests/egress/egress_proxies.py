"""Real proxy servers for egress tests: Debian's tinyproxy (HTTP) and dante (SOCKS5).

Each proxy listens on 127.0.0.1 on a free port and opens its outgoing connections from a
chosen loopback address (tinyproxy `Bind`, dante `external:`), so a server on 127.0.0.1 sees
every proxy as a distinct client address. scripts/egress/install-proxies.sh installs both.

tinyproxy takes optional BasicAuth credentials. dante's `username` method checks the system
password database (there is no password file of its own), so the SOCKS5 proxy runs without
authentication rather than creating system users; SOCKS credentials are exercised through
the URL shape only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LISTEN_HOST = "127.0.0.1"
INSTALL_HINT = "run scripts/egress/install-proxies.sh (Debian's tinyproxy and dante-server)"


class ProxyError(Exception):
    """A proxy that is not installed or did not start; the message says what to do."""


@dataclass(frozen=True, kw_only=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True, kw_only=True)
class RunningProxy:
    """One proxy process: where it listens, where it exits from, its log."""

    kind: str
    """`http` (tinyproxy) or `socks5` (dante)."""
    port: int
    exit_address: str
    credentials: Credentials | None
    log_path: Path

    def url(self, *, scheme: str | None = None, with_credentials: bool = True) -> str:
        """The proxy URL (`socks5h` for remote DNS); credentials percent-encoded in it."""
        netloc = f"{LISTEN_HOST}:{self.port}"
        if with_credentials and self.credentials is not None:
            user = urllib.parse.quote(self.credentials.username, safe="")
            password = urllib.parse.quote(self.credentials.password, safe="")
            netloc = f"{user}:{password}@{netloc}"
        return f"{scheme or self.kind}://{netloc}"

    def flaresolverr_proxy(self) -> dict[str, str]:
        """FlareSolverr's `proxy` object: the URL without credentials, them beside it."""
        spec = {"url": self.url(with_credentials=False)}
        if self.credentials is not None:
            spec.update(username=self.credentials.username, password=self.credentials.password)
        return spec

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LISTEN_HOST, 0))
        return int(sock.getsockname()[1])


def binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise ProxyError(f"{name} is not installed: {INSTALL_HINT}")
    return found


def tinyproxy_config(*, port: int, exit_address: str, credentials: Credentials | None,
                     workdir: Path) -> str:
    lines = [
        f"Port {port}", f"Listen {LISTEN_HOST}", f"Bind {exit_address}",
        "Timeout 30", "MaxClients 64", "LogLevel Connect",
        f'LogFile "{workdir / "tinyproxy.log"}"', f'PidFile "{workdir / "tinyproxy.pid"}"',
        "Allow 127.0.0.0/8", "DisableViaHeader Yes",
    ]
    if credentials is not None:
        lines.append(f"BasicAuth {credentials.username} {credentials.password}")
    return "\n".join(lines) + "\n"


def dante_config(*, port: int, exit_address: str, workdir: Path) -> str:
    lines = [
        f"logoutput: {workdir / 'danted.log'}",
        # Debug level logs each request packet, with its address type (ATYP 3: a domain name
        # the proxy resolves, as with socks5h).
        "debug: 1",
        f"internal: {LISTEN_HOST} port = {port}",
        f"external: {exit_address}",
        "clientmethod: none",
        "socksmethod: none",
    ]
    if os.geteuid() == 0:
        lines += ["user.privileged: root", "user.unprivileged: nobody"]
    lines += [
        "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: error }",
        "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect error }",
    ]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _process(args: list[str], *, port: int, workdir: Path, name: str) -> Iterator[None]:
    output = (workdir / f"{name}.out").open("wb")
    # Its own session: dante forks children, all stopped together through the group id.
    process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        _wait_listening(process, port=port, workdir=workdir, name=name)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        output.close()


def _wait_listening(process: subprocess.Popen[bytes], *, port: int, workdir: Path,
                    name: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = (workdir / f"{name}.out").read_text(errors="replace")[-2000:]
            raise ProxyError(f"{name} exited rc={process.returncode}: {said}")
        with contextlib.suppress(OSError), socket.create_connection((LISTEN_HOST, port), 0.2):
            return
        time.sleep(0.02)
    raise ProxyError(f"{name} did not listen on {LISTEN_HOST}:{port} within 10 s")


@contextlib.contextmanager
def running_tinyproxy(*, exit_address: str, workdir: Path,
                      credentials: Credentials | None = None) -> Iterator[RunningProxy]:
    """tinyproxy (HTTP, CONNECT included) exiting from `exit_address`."""
    executable = binary("tinyproxy")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "tinyproxy.conf"
    config.write_text(tinyproxy_config(port=port, exit_address=exit_address,
                                       credentials=credentials, workdir=workdir))
    with _process([executable, "-d", "-c", str(config)], port=port, workdir=workdir,
                  name="tinyproxy"):
        yield RunningProxy(kind="http", port=port, exit_address=exit_address,
                           credentials=credentials, log_path=workdir / "tinyproxy.log")


@contextlib.contextmanager
def running_dante(*, exit_address: str, workdir: Path) -> Iterator[RunningProxy]:
    """dante (SOCKS5, no authentication; see the module docstring) exiting from `exit_address`."""
    executable = binary("danted")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "danted.conf"
    config.write_text(dante_config(port=port, exit_address=exit_address, workdir=workdir))
    args = [executable, "-f", str(config), "-N", "1", "-p", str(workdir / "danted.pid")]
    with _process(args, port=port, workdir=workdir, name="danted"):
        yield RunningProxy(kind="socks5", port=port, exit_address=exit_address,
                           credentials=None, log_path=workdir / "danted.log")
