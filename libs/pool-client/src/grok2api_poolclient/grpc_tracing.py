"""Client spans for calls to the token pool, the trace context riding along.

A unary call carries the context in its gRPC metadata (``Interceptor``, put on the channel
only when tracing is on, so it costs nothing otherwise); a batched acquire or release,
which shares one stream with other requests' items, carries it in the item's
``trace_context`` (``item_span``). Span names and attributes follow the OTel RPC
conventions: ``grok2api.tokenpool.v1.TokenPool/Acquire``, ``rpc.system=grpc``,
``rpc.service``, ``rpc.method``, ``server.address``, ``server.port``,
``rpc.grpc.status_code``. Nothing of the request (credentials, account ids) is recorded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import grpc
from grok2api_telemetry import tracing

from . import errors, grpc_errors

SERVICE = "grok2api.tokenpool.v1.TokenPool"


def rpc_attributes(method: str, *, address: str) -> dict[str, Any]:
    host, _, port = address.rpartition(":")
    attributes: dict[str, Any] = {
        "rpc.system": "grpc",
        "rpc.service": SERVICE,
        "rpc.method": method,
        "server.address": host.strip("[]") or address,
    }
    if port.isdigit():
        attributes["server.port"] = int(port)
    return attributes


@contextlib.contextmanager
def item_span(
    method: str, *, address: str, carrier: MutableMapping[str, str]
) -> Iterator[None]:
    """A client span around one batched item; its context is written into ``carrier``
    (the item's ``trace_context``). Call only when ``tracing.enabled()``."""
    attributes = {**rpc_attributes(method, address=address), "grok2api.rpc.batched": True}
    with tracing.span(f"{SERVICE}/{method}", kind=tracing.SpanKind.CLIENT,
                      attributes=attributes) as span:
        assert span is not None
        carrier.update(tracing.inject())
        try:
            yield
        except Exception as exc:
            span.set_attribute("rpc.grpc.status_code", _code_of(exc))
            raise
        span.set_attribute("rpc.grpc.status_code", grpc.StatusCode.OK.value[0])


class Interceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """A client span per unary call, its context sent as ``traceparent`` metadata."""

    def __init__(self, *, address: str) -> None:
        self._address = address

    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: Any, request: Any
    ) -> Any:
        path = client_call_details.method
        path = path.decode() if isinstance(path, bytes) else path
        method = path.rpartition("/")[2]
        with tracing.span(path.lstrip("/"), kind=tracing.SpanKind.CLIENT,
                          attributes=rpc_attributes(method, address=self._address)) as span:
            assert span is not None
            metadata = grpc.aio.Metadata(*(client_call_details.metadata or ()))
            for key, value in tracing.inject().items():
                metadata.add(key, value)
            call = await continuation(client_call_details._replace(metadata=metadata), request)
            try:
                await call
            finally:
                code = await call.code()
                span.set_attribute("rpc.grpc.status_code", code.value[0])
                if code is not grpc.StatusCode.OK:
                    span.set_status(tracing.Status(tracing.StatusCode.ERROR, code.name))
            return call


def _code_of(exc: Exception) -> int:
    """The status code a pool error stands for (``grpc_errors``' table), else UNKNOWN."""
    if isinstance(exc, errors.PoolError):
        return grpc_errors.to_item_error(exc).code
    return grpc.StatusCode.UNKNOWN.value[0]
