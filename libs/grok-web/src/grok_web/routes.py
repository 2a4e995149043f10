"""One set of connections per egress, so calls through different exits never share one.

A :class:`Route` is a :class:`context.Context` (its own :class:`transport.Transport` and
:class:`headers.HeaderFactory`) for one egress, keyed by the egress's whole content: a
refreshed clearance or a new proxy is a new route, and the route it supersedes (same
``egress_id``) is retired. At most ``capacity`` routes are kept; past that the least
recently used idle one is retired. A retired route's connections are closed once its last
call ends.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses

from grok_web import context
from grok_web import headers as headers_mod
from grok_web import options as options_mod
from grok_web import transport as transport_mod

DEFAULT_CAPACITY = 64


@dataclasses.dataclass(eq=False, slots=True)
class Route:
    """The wiring of one egress and how many calls use it now."""

    ctx: context.Context
    users: int = 0
    retired: bool = False


class Routes:
    """The routes of one client; not thread-safe (one event loop)."""

    def __init__(self, *, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._routes: collections.OrderedDict[options_mod.Egress, Route] = collections.OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()
        self._unclosed: list[transport_mod.Transport] = []

    def __len__(self) -> int:
        return len(self._routes)

    def take(self, *, base: options_mod.ClientOptions, egress: options_mod.Egress) -> Route:
        """The route of ``egress`` (built on ``base`` options when new), counted as in use
        until :meth:`give_back`."""
        route = self._routes.get(egress)
        if route is None:
            route = self._build(base=base, egress=egress)
        else:
            self._routes.move_to_end(egress)
        route.users += 1
        return route

    def give_back(self, route: Route) -> None:
        """One call on ``route`` ended; a retired route closes with its last call."""
        route.users -= 1
        if route.retired and route.users == 0:
            self._close(route.ctx.transport)

    def retire_all(self) -> None:
        """Retire every route (the client's options changed)."""
        for egress in list(self._routes):
            self._retire(egress)

    async def aclose(self) -> None:
        """Close every route's connections, busy or not (idempotent)."""
        transports = [route.ctx.transport for route in self._routes.values()]
        transports += self._unclosed
        self._routes.clear()
        self._unclosed = []
        for transport in transports:
            with contextlib.suppress(Exception):
                await transport.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def _build(self, *, base: options_mod.ClientOptions, egress: options_mod.Egress) -> Route:
        if egress.egress_id:
            for other in [e for e in self._routes if e.egress_id == egress.egress_id]:
                self._retire(other)
        options = dataclasses.replace(base, egress=egress)
        route = Route(
            ctx=context.Context(
                options=options,
                transport=transport_mod.Transport(options=options),
                headers=headers_mod.HeaderFactory(options=options),
            )
        )
        self._routes[egress] = route
        while len(self._routes) > self._capacity:
            idle = next(
                (e for e, r in self._routes.items() if r.users == 0 and r is not route), None
            )
            if idle is None:  # all busy: over capacity until their calls end
                break
            self._retire(idle)
        return route

    def _retire(self, egress: options_mod.Egress) -> None:
        route = self._routes.pop(egress)
        route.retired = True
        if route.users == 0:
            self._close(route.ctx.transport)

    def _close(self, transport: transport_mod.Transport) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # outside the loop: closed by aclose
            self._unclosed.append(transport)
            return
        task = loop.create_task(transport.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
