"""A TCP forwarder a test can cut, to take a database server away and bring it back.

``TcpForwarder`` runs on the test's event loop; ``ThreadedForwarder`` runs one on a loop of
its own in a thread, for tests whose own loop blocks (starting service processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any


class TcpForwarder:
    """127.0.0.1:<port> → ``target``. ``cut()`` closes every open connection and resets new
    ones (the server looks down); ``restore()`` forwards again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._cut = False
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        self._cut = True
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    def restore(self) -> None:
        self._cut = False

    async def aclose(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for end in (writer, up_writer):
            self._open.discard(end)
            end.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()


@contextlib.contextmanager
def threaded_forwarder(target_host: str, target_port: int) -> Iterator[ThreadedForwarder]:
    forwarder = ThreadedForwarder(target_host, target_port)
    try:
        yield forwarder
    finally:
        forwarder.close()


class ThreadedForwarder:
    """A ``TcpForwarder`` on an event loop in a daemon thread; ``cut``/``restore`` are safe to
    call from any thread and have taken effect when they return."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._forwarder = TcpForwarder(target_host, target_port)
        self._await(self._forwarder.start())
        self.port = self._forwarder.port

    def cut(self) -> None:
        self._on_loop(self._forwarder.cut)

    def restore(self) -> None:
        self._on_loop(self._forwarder.restore)

    def close(self) -> None:
        self._await(self._forwarder.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _await(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(10)

    def _on_loop(self, action: Callable[[], None]) -> None:
        async def run() -> None:
            action()

        self._await(run())
