"""The TOKEN_POOL_ADDR the chart renders (``dns:///<headless service>:<port>``) is an address
the services accept: the pool binds its port, and a client's preflight reaches a gRPC health
service through gRPC's dns resolver (the Service name swapped for ``localhost``)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from chart_render import Rendered, env_of
from grok2api_cli import preflight
from grok2api_settings import Settings
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from token_pool.main import bind_address


def rendered_address(rendered: Rendered) -> str:
    address: str = env_of(rendered.deployment("gateway"))["TOKEN_POOL_ADDR"]["value"]
    assert address.startswith("dns:///")
    return address


def with_pool_addr(address: str) -> Settings:
    return Settings.model_validate({"services": {"token_pool_addr": address}})


def test_the_pool_binds_the_port_of_the_rendered_address(
    render_ci: Callable[[str], Rendered],
) -> None:
    address = rendered_address(render_ci("default-values.yaml"))
    assert bind_address(with_pool_addr(address)) == "[::]:50051"


async def test_a_client_reaches_the_pool_through_the_dns_resolver(
    render_ci: Callable[[str], Rendered],
) -> None:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        host_and_port = rendered_address(render_ci("default-values.yaml"))
        local = host_and_port.rsplit("/", 1)[0] + f"/localhost:{port}"
        assert local == f"dns:///localhost:{port}"
        await preflight.require_pool(with_pool_addr(local), target="gateway")
    finally:
        await server.stop(None)
