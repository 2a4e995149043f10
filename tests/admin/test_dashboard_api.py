"""Dashboard figures from Prometheus samples: this process's registry, and services'
``/metrics`` scraped over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2 as httpx
import pytest
from admin import dashboard, metrics_source
from admin.routers import dashboard as dashboard_router
from aiohttp import web
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BUCKETS = (0.5, 1.0, 2.0, 4.0)
CHAT = "/v1/chat/completions"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Services:
    """The metrics a gateway, a token pool and a media worker export, on one registry."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter("grok2api_gateway_requests_total", "",
                                ["route", "model", "status"], registry=r)
        self.latency = Histogram("grok2api_gateway_request_duration_seconds", "",
                                 ["route", "model"], buckets=BUCKETS, registry=r)
        self.ttft = Histogram("grok2api_gateway_time_to_first_token_seconds", "", ["model"],
                              buckets=BUCKETS, registry=r)
        self.accounts = Gauge("grok2api_pool_accounts", "", ["tier", "status"], registry=r)
        self.quota = Gauge("grok2api_pool_remaining_quota", "", ["tier", "mode"], registry=r)
        self.queue = Gauge("grok2api_media_queue_depth", "", ["state"], registry=r)
        Counter("other_total", "not ours", registry=r).inc()
        self.accounts.labels("basic", "active").set(7)
        self.accounts.labels("super", "active").set(2)
        self.accounts.labels("basic", "cooling").set(1)
        self.quota.labels("basic", "chat").set(140)
        self.queue.labels("waiting").set(3)

    def chats(self, model: str, *, ok: int, failed: int, seconds: float) -> None:
        self.requests.labels(CHAT, model, "200").inc(ok)
        self.requests.labels(CHAT, model, "502").inc(failed)
        for _ in range(ok + failed):
            self.latency.labels(CHAT, model).observe(seconds)
            self.ttft.labels(model).observe(seconds / 4)

    def answered(self, route: str, status: str, count: int, model: str = "") -> None:
        self.requests.labels(route, model, status).inc(count)


def app_for(board: dashboard.Dashboard) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(dashboard_router.router, prefix="/api")
    app.state.dashboard = board
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a.test")


async def test_figures_from_the_process_registry_rates_from_counter_deltas() -> None:
    services, clock = Services(), Clock()
    services.chats("grok-4", ok=10, failed=0, seconds=3.0)
    board = dashboard.Dashboard(
        metrics_source.RegistrySource(services.registry, clock=clock), min_interval=0,
    )
    async with app_for(board) as http:
        first = (await http.get("/api/dashboard")).json()
        clock.now += 10
        services.chats("grok-4", ok=15, failed=5, seconds=0.75)
        services.answered("/v1/models", "200", 3)  # no model: counted, but no model row
        services.answered("/v1/videos/{video_id}", "499", 2)  # the client left: no error
        services.answered("/readyz", "503", 4)  # a probe is not an API request
        second = (await http.get("/api/dashboard")).json()
    assert first["source"] == "registry" and first["requests_per_second"] is None
    assert second["window_seconds"] == 10
    assert second["requests_per_second"] == pytest.approx(2.5)  # (20 + 3 + 2 requests) / 10 s
    assert second["errors_per_second"] == pytest.approx(0.5)
    assert second["error_ratio"] == pytest.approx(0.2)
    (row,) = second["models"]
    assert row["model"] == "grok-4" and row["requests_total"] == 30 and row["errors_total"] == 5
    assert row["basis"] == "window"
    # 20 observations of 0.75 s in the window: all in the (0.5, 1.0] bucket.
    assert row["latency_seconds"]["p50"] == pytest.approx(0.75)
    assert 0 < row["ttft_seconds"]["p90"] <= 0.5
    pool = second["pool"]
    assert pool["accounts_by_status"] == {"active": 9, "cooling": 1}
    assert pool["accounts_by_tier"] == {"basic": 8, "super": 2}
    assert pool["remaining_quota"] == [{"tier": "basic", "mode": "chat", "remaining": 140}]
    assert second["media"]["queue_depth"] == {"waiting": 3}
    assert [p["requests_per_second"] for p in second["history"]] == [None, pytest.approx(2.5)]


async def test_lifetime_quantiles_before_a_window_has_requests() -> None:
    services = Services()
    services.chats("grok-3", ok=4, failed=0, seconds=3.0)
    board = dashboard.Dashboard(metrics_source.RegistrySource(services.registry))
    figures = await board.figures()
    (row,) = figures["models"]
    assert row["basis"] == "lifetime"
    assert row["latency_seconds"]["p50"] == pytest.approx(3.0)  # halfway through (2, 4]


def test_histogram_quantile_follows_prometheus() -> None:
    buckets = [(1.0, 0.0), (2.0, 10.0), (float("inf"), 10.0)]
    assert dashboard.histogram_quantile(0.5, buckets) == pytest.approx(1.5)
    assert dashboard.histogram_quantile(0.99, [(1.0, 0.0), (float("inf"), 4.0)]) == 1.0
    assert dashboard.histogram_quantile(0.5, [(1.0, 0.0)]) is None


@pytest.fixture
async def exporters() -> AsyncIterator[tuple[list[str], Services, Services]]:
    """Two services serving /metrics over HTTP, and a URL that answers 500."""
    gateway, pool = Services(), Services()
    pool.accounts.labels("basic", "active").set(8)

    def serve(services: Services):  # type: ignore[no-untyped-def]
        async def handler(_: web.Request) -> web.Response:
            return web.Response(body=generate_latest(services.registry),
                                content_type="text/plain")
        return handler

    async def broken(_: web.Request) -> web.Response:
        return web.Response(status=500)

    app = web.Application()
    app.router.add_get("/gateway/metrics", serve(gateway))
    app.router.add_get("/pool/metrics", serve(pool))
    app.router.add_get("/broken/metrics", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    try:
        yield [f"{base}/gateway/metrics", f"{base}/pool/metrics", f"{base}/broken/metrics"], \
            gateway, pool
    finally:
        await runner.cleanup()


async def test_figures_from_scraped_services(
    exporters: tuple[list[str], Services, Services],
) -> None:
    urls, gateway, pool = exporters
    clock = Clock()
    board = dashboard.Dashboard(
        metrics_source.ScrapeSource(lambda: urls, clock=clock), min_interval=0
    )
    async with app_for(board) as http:
        await http.get("/api/dashboard")
        clock.now += 4
        gateway.chats("grok-4", ok=6, failed=2, seconds=1.5)
        pool.chats("grok-4", ok=2, failed=0, seconds=1.5)  # a second replica's requests add up
        body = (await http.get("/api/dashboard")).json()
    assert body["source"] == "scrape"
    assert [(t["ok"], t["error"]) for t in body["targets"]] == [
        (True, None), (True, None), (False, "HTTP 500"),
    ]
    assert body["requests_per_second"] == pytest.approx(10 / 4)
    assert body["errors_per_second"] == pytest.approx(2 / 4)
    # Shared pool gauges: every replica reports the same pool, so the largest value wins.
    assert body["pool"]["accounts_by_status"]["active"] == 10  # basic 8 + super 2
    assert body["models"][0]["latency_seconds"]["p50"] == pytest.approx(1.5)
