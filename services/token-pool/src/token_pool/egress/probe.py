"""Testing egresses: the upstream's home page fetched through each one with ``grok_web``
(its proxy, fingerprint, user agent and clearance cookies, as a lease would use them).

Each result says what to do in words an operator can act on, never an address or a
credential: grok_web's own messages may quote the proxy's host, so only the error's kind
and HTTP status are used. The round trip feeds the egress's latency figure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Sequence

from grok2api_poolclient import egress as route_egress
from grok2api_poolclient import egresses
from grok2api_poolclient.leases import EgressRoute
from grok_web import client as grok_client
from grok_web import errors as grok_errors

# Egresses tested at a time: a run over many proxies finishes in a few round trips.
CONCURRENCY = 8


class Prober:
    def __init__(
        self,
        *,
        client: Callable[[], grok_client.GrokClient],
        solver_configured: Callable[[], bool],
    ) -> None:
        """``client``: the grok_web client to fetch with (the pool's own); the
        message after a challenge depends on ``solver_configured``."""
        self._client = client
        self._solver_configured = solver_configured

    async def run(
        self,
        routes: Sequence[EgressRoute],
        *,
        latency: Callable[[str, float], None],
    ) -> AsyncGenerator[egresses.EgressTest, None]:
        """One result per route as each finishes, then the summary (``finished``)."""
        total = len(routes)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(route: EgressRoute) -> egresses.EgressTest:
            async with gate:
                return await self.test(route, latency=latency)

        tasks = [asyncio.create_task(one(route)) for route in routes]
        done = failed = 0
        try:
            for finished in asyncio.as_completed(tasks):
                result = await finished
                done += 1
                failed += not result.ok
                yield egresses.EgressTest(
                    egress_id=result.egress_id, name=result.name, ok=result.ok,
                    status=result.status, challenged=result.challenged,
                    latency_ms=result.latency_ms, message=result.message, done=done,
                    total=total,
                )  # fmt: skip
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        yield egresses.EgressTest(
            egress_id="", name="", ok=failed == 0, done=done, total=total, finished=True,
            message=f"{failed} of {total} failed" if failed else "",
        )  # fmt: skip

    async def test(
        self, route: EgressRoute, *, latency: Callable[[str, float], None]
    ) -> egresses.EgressTest:
        started = time.perf_counter()
        status, challenged, message = 0, False, "reachable"
        try:
            status = await self._client().home_page(egress=route_egress.from_route(route))
        except grok_errors.CloudflareChallenge as exc:
            status, challenged = exc.status or 0, True
            message = self._challenged(route.name)
        except grok_errors.UpstreamError as exc:
            status = exc.status or 0
            message = _failed(exc)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if status:  # the upstream answered: the round trip is the egress's latency
            latency(route.egress_id, elapsed_ms)
        return egresses.EgressTest(
            egress_id=route.egress_id, name=route.name, ok=not challenged and 0 < status < 400,
            status=status, challenged=challenged, latency_ms=elapsed_ms, message=message,
        )  # fmt: skip

    def _challenged(self, name: str) -> str:
        refresh = f"refresh the clearance (grok2api egress refresh {name})"
        if self._solver_configured():
            return f"challenged: {refresh}"
        return (
            "challenged: paste a clearance obtained through this egress, or configure "
            f"egress.solver_url and {refresh}"
        )


def _failed(exc: grok_errors.UpstreamError) -> str:
    if exc.status:
        return f"the upstream answered HTTP {exc.status} ({type(exc).__name__})"
    return (
        f"no answer through this egress ({type(exc).__name__}): check that the proxy is "
        "up and accepts this host"
    )
