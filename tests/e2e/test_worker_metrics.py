"""SERVER_WORKERS > 1: one scrape of /metrics counts the requests of every gateway worker."""

from __future__ import annotations

import asyncio
import signal

import openai
import pytest
from curl_cffi import requests
from prometheus_client.parser import text_string_to_metric_families

from .conftest import Service, free_port, wait_http
from .test_workers import add_account

pytestmark = pytest.mark.e2e

REQUESTS = 12


def requests_of(text: str, route: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "grok2api_gateway_requests_total" and sample.labels["route"] == route
    )


def test_every_scrape_sums_the_requests_of_all_gateway_workers(
    base_env, redis_db, simulator, tmp_path, check_metrics
):
    port, pool_addr = free_port(), f"127.0.0.1:{free_port()}"
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**base_env, "SERVER_WORKERS": "2", "REDIS_URL": redis_db, "SERVER_PORT": str(port),
           "TOKEN_POOL_ADDR": pool_addr, "TMPDIR": str(temp)}  # fmt: skip
    service = Service("all", env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/readyz", service, timeout=90)
        (directory,) = temp.glob("grok2api-metrics-*")  # fresh, for this run's workers only
        simulator.add_account("metrics-workers-1", tier="basic")
        asyncio.run(add_account(pool_addr, "metrics-workers-1"))
        for n in range(REQUESTS):
            # A client (a connection) per request: the kernel spreads them over the workers.
            with openai.OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0) as client:
                reply = client.chat.completions.create(
                    model="grok-4", messages=[{"role": "user", "content": f"hi {n}"}]
                )
                assert reply.choices[0].message.content
        for _ in range(3):  # the probes of the process count as the gateway's requests too
            assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        writers = {path.stem.rpartition("_")[2] for path in directory.glob("counter_*.db")}
        assert len(writers) >= 2  # both workers keep their samples there
        scrapes = [requests.get(f"{base}/metrics", timeout=10).text for _ in range(6)]
    finally:
        service.proc.send_signal(signal.SIGTERM)
        output = service.stop()
    assert service.proc.returncode == 0, output
    # Whichever worker answered the scrape, it counted every worker's requests once.
    chat = [requests_of(text, "/v1/chat/completions") for text in scrapes]
    assert chat == [REQUESTS] * len(scrapes)
    assert [requests_of(text, "/healthz") for text in scrapes] == [3] * len(scrapes)
    assert "grok2api_upstream_requests_total" in scrapes[0]
    assert not list(temp.glob("grok2api-metrics-*"))  # removed when the supervisor stops
    check_metrics(scrapes[0])
