"""Server spans for the pool's gRPC calls, children of the callers' client spans.

Unary calls take the caller's context from the ``traceparent`` metadata (``Interceptor``,
added to the server only when tracing is on); each item of a ``LeaseBatches`` stream takes
it from the item's ``trace_context`` (``ItemSpans``): the stream is shared by many
requests, so the stream itself gets no span. Names and attributes are the client's
(``grpc_tracing.rpc_attributes`` without the server address), kind SERVER.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import grpc
from grok2api.tokenpool.v1 import token_pool_pb2 as pb
from grok2api_poolclient.grpc_tracing import SERVICE
from grok2api_telemetry import tracing

_UNTRACED_PREFIX = "/grpc.health.v1.Health/"  # probes every few seconds: noise in traces
_CARRIED = ("traceparent", "tracestate")


def _attributes(method: str) -> dict[str, Any]:
    return {"rpc.system": "grpc", "rpc.service": SERVICE, "rpc.method": method}


def _start(method: str, carrier: Mapping[str, str], **extra: Any) -> tracing.Span:
    parent = tracing.extract(carrier) if carrier else None
    return tracing.tracer().start_span(
        f"{SERVICE}/{method}", kind=tracing.SpanKind.SERVER,
        attributes={**_attributes(method), **extra}, context=parent,
    )  # fmt: skip


def _finish(span: tracing.Span, code: int) -> None:
    span.set_attribute("rpc.grpc.status_code", code)
    if code != grpc.StatusCode.OK.value[0]:
        span.set_status(tracing.Status(tracing.StatusCode.ERROR))
    span.end()


class Interceptor(grpc.aio.ServerInterceptor):
    """A server span around every unary-unary call of the pool (health checks excepted)."""

    async def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        handler = await continuation(handler_call_details)
        path: str = handler_call_details.method
        if handler is None or handler.unary_unary is None or path.startswith(_UNTRACED_PREFIX):
            return handler
        carrier = {k: v for k, v in handler_call_details.invocation_metadata or ()
                   if k in _CARRIED}  # fmt: skip
        method = path.rpartition("/")[2]
        behavior = handler.unary_unary

        async def traced(request: Any, context: grpc.aio.ServicerContext) -> Any:
            span = _start(method, carrier)
            code = grpc.StatusCode.UNKNOWN
            try:
                with tracing.current(span):
                    answer = await behavior(request, context)
                code = context.code() or grpc.StatusCode.OK
                return answer
            except BaseException:
                code = context.code() or code
                raise
            finally:
                _finish(span, code.value[0] if isinstance(code, grpc.StatusCode) else int(code))

        return grpc.unary_unary_rpc_method_handler(
            traced,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class ItemSpans:
    """One server span per traced item of a ``LeaseBatch``, ended with its answer's code.
    Build it only when ``tracing.enabled()``."""

    def __init__(self, batch: pb.LeaseBatch) -> None:
        self._spans: dict[tuple[str, int], tracing.Span] = {}
        for method, items in (("Acquire", batch.acquires), ("Release", batch.releases)):
            for item in items:
                if item.trace_context:
                    self._spans[method, item.id] = _start(
                        method, dict(item.trace_context), **{"grok2api.rpc.batched": True}
                    )

    def answered(
        self, acquired: Iterable[pb.AcquireAnswer], released: Iterable[pb.ReleaseAnswer]
    ) -> None:
        for method, answers in (("Acquire", acquired), ("Release", released)):
            for answer in answers:
                span = self._spans.pop((method, answer.id), None)
                if span is not None:
                    _finish(span, answer.error.code if answer.HasField("error") else 0)

    def close(self) -> None:
        """End the spans of items left unanswered (the stream broke)."""
        spans, self._spans = self._spans, {}
        for span in spans.values():
            _finish(span, grpc.StatusCode.CANCELLED.value[0])
