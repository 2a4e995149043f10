"""``/healthz`` (the process is alive) and ``/readyz`` (its dependencies answer).

Readiness runs every named check concurrently with a timeout and reports each by name, so
an operator sees which dependency is down instead of a bare 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

Check = Callable[[], Awaitable[object]]


def routes(checks: Mapping[str, Check], *, timeout: float = 2.0) -> list[Route]:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        names = list(checks)
        results = await asyncio.gather(
            *(asyncio.wait_for(checks[name](), timeout) for name in names), return_exceptions=True
        )
        report = {
            name: ("ok" if not isinstance(result, BaseException) else _describe(result))
            for name, result in zip(names, results, strict=True)
        }
        ready = all(value == "ok" for value in report.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": report},
            status_code=200 if ready else 503,
        )

    return [Route("/healthz", healthz), Route("/readyz", readyz)]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    return f"{type(exc).__name__}: {exc}"[:200]
