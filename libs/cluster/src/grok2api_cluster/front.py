"""The small round-robin front before the gateways (what a Kubernetes Service is to them):
each new client connection goes to the next gateway; a gateway that refuses the connection
(killed, restarting) is passed over for the next one, so only the connections already open to
a gateway that dies are lost.

    python -m grok2api_cluster.front --port 8000 --backend 127.0.0.1:8001 --backend ...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import signal

log = logging.getLogger("grok2api_cluster.front")
CONNECT_TIMEOUT_SECONDS = 1.0
CHUNK = 64 * 1024


class RoundRobinFront:
    def __init__(self, backends: list[tuple[str, int]]):
        self._backends = backends
        self._turn = itertools.cycle(range(len(backends)))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:
            log.warning("front: no gateway accepted a connection")
            writer.close()
            return
        up_reader, up_writer = upstream
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        # The turn is taken once: concurrent connections share the cycle, so taking it per
        # attempt could hand one connection the same dead gateway twice.
        first = next(self._turn)
        for step in range(len(self._backends)):
            host, port = self._backends[(first + step) % len(self._backends)]
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(host, port), CONNECT_TIMEOUT_SECONDS
                )
            except (OSError, TimeoutError):
                continue
        return None


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until either side ends; then end both (a gateway killed mid-stream closes the
    client's connection, which is how the client learns of it)."""
    try:
        while data := await source.read(CHUNK):
            sink.write(data)
            await sink.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            sink.close()


def _backend(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def serve(port: int, backends: list[tuple[str, int]]) -> None:
    front = RoundRobinFront(backends)
    server = await asyncio.start_server(front.handle, "127.0.0.1", port, backlog=4096)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        log.info("front listening on 127.0.0.1:%d before %d gateways", port, len(backends))
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", action="append", required=True, type=_backend)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    asyncio.run(serve(args.port, args.backend))


if __name__ == "__main__":
    main()
