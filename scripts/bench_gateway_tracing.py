"""``bench_gateway.py --tracing``: an OTLP/gRPC receiver on loopback for the traced gateway,
the environment that turns its tracing on, and the on-vs-off report.

The receiver is opentelemetry-proto's ``TraceService`` (no collector exists here); it only
counts what arrives, so the run also shows the spans were really exported. The gateway
with tracing on gets only the standard ``OTEL_*`` variables, as a deployment would.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans = 0
        self.exports = 0
        self._lock = threading.Lock()

    def Export(self, request: Any, context: Any) -> Any:
        count = sum(len(scope.spans) for rs in request.resource_spans for scope in rs.scope_spans)
        with self._lock:
            self.spans += count
            self.exports += 1
        return trace_service_pb2.ExportTraceServiceResponse()


@contextlib.contextmanager
def receiving() -> Iterator[tuple[Receiver, int]]:
    receiver = Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield receiver, port
    finally:
        server.stop(None)


def tracing_env(port: int) -> dict[str, str]:
    """What turns the gateway's tracing on: every span sampled, exported over OTLP/gRPC
    with the SDK's default batching."""
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_SERVICE_NAME": "grok2api-bench",
        "OTEL_TRACES_SAMPLER": "always_on",
    }


@contextlib.contextmanager
def environment(extra: dict[str, str]) -> Iterator[None]:
    """``extra`` in os.environ while a gateway process is started (it inherits it)."""
    import os

    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def print_tracing(table: list[dict[str, Any]], receiver: Receiver | None) -> None:
    """Per phase: gateway CPU per request and p50/p99 with tracing on against off."""
    by_key = {(r["protocol"], r["stream"], r["c"]): r for r in table}
    print("\ntracing on vs off (medians; cpu = gateway process CPU per request)")
    for (label, stream, concurrency), on in by_key.items():
        if not label.endswith("/tracing-on"):
            continue
        off = by_key.get((label.replace("/tracing-on", "/tracing-off"), stream, concurrency))
        if off is None:
            continue
        cpu_on, cpu_off = on["cpu_ms_per_req"]["gateway"], off["cpu_ms_per_req"]["gateway"]
        print(f"  {label.split('/')[0]:4} stream={stream!s:5} c={concurrency:<3} "
              f"cpu {cpu_off:.3f} -> {cpu_on:.3f} ms/req ({cpu_on - cpu_off:+.3f}, "
              f"{(cpu_on / max(cpu_off, 1e-9) - 1) * 100:+.1f}%)  "
              f"p50 {off['p50_ms']} -> {on['p50_ms']} ms  p99 {off['p99_ms']} -> "
              f"{on['p99_ms']} ms  req/s {off['rps']} -> {on['rps']}")
    if receiver is not None:
        print(f"  spans received over OTLP: {receiver.spans} in {receiver.exports} exports")
