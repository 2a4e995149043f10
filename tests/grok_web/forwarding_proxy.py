"""A minimal HTTP forward proxy for unit tests: it turns each absolute-form request
(``GET http://host:port/path``) into an origin-form one and pipes the bytes both ways, one
request per connection, tunnels ``CONNECT`` (curl's way for WebSockets), and records what
it forwarded. Real proxies (tinyproxy, dante) are in tests/egress."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from urllib.parse import urlsplit


@dataclasses.dataclass
class ForwardingProxy:
    url: str = ""
    seen: list[str] = dataclasses.field(default_factory=list)  # "METHOD /path"
    server: asyncio.AbstractServer | None = None

    def paths(self) -> list[str]:
        return [line.split(" ", 1)[1] for line in self.seen]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def start(*, username: str = "", password: str = "") -> ForwardingProxy:
    """Listen on 127.0.0.1; ``url`` carries the credentials given (not checked)."""
    proxy = ForwardingProxy()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            first, _, rest = head.partition(b"\r\n")
            method, target, version = first.decode("latin-1").split(" ")
            if method == "CONNECT":  # a tunnel (curl opens WebSockets through one)
                proxy.seen.append(f"CONNECT {target}")
                host, _, port = target.rpartition(":")
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
                return
            parts = urlsplit(target)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            proxy.seen.append(f"{method} {parts.path}")
            lines = [
                line
                for line in rest.split(b"\r\n")
                if not line.lower().startswith((b"proxy-", b"connection:"))
            ]
            upgrade = any(line.lower().startswith(b"upgrade:") for line in lines)
            connection = b"Connection: Upgrade" if upgrade else b"Connection: close"
            new_head = b"\r\n".join(
                [f"{method} {path} {version}".encode(), connection, *lines]
            )
            up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port)
            up_writer.write(new_head)
            await up_writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    proxy.server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = proxy.server.sockets[0].getsockname()[1]
    auth = f"{username}:{password}@" if username else ""
    proxy.url = f"http://{auth}127.0.0.1:{port}"
    return proxy


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(Exception):
        writer.close()
