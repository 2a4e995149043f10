"""A real ``grok2api run`` process, configured only by OTEL_* variables, exports its spans
over OTLP/gRPC to a receiver on loopback (opentelemetry-proto's TraceService); under traffic
carrying a credential, a master key, client keys and a prompt, none of them appears in its
logs, its /metrics or its spans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from curl_cffi import requests
from grok2api_cluster.cluster import free_port
from grok_sim.testing import SimHandle
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "5b8aa5a2d2c872e8321cf37308d69df2"
TRACEPARENT = f"00-{TRACE_ID}-051581bf3cb55c13-01"
MASTER_KEY = "sk-master-key-never-logged-1234"
PROMPT = "the-secret-prompt-text-7781"


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.arrived = threading.Condition()

    def Export(self, request: Any, context: Any) -> Any:
        with self.arrived:
            self.requests.append(request)
            self.arrived.notify_all()
        return trace_service_pb2.ExportTraceServiceResponse()

    def spans(self) -> list[tuple[str, Any]]:
        """(service.name, span) of everything received."""
        found: list[tuple[str, Any]] = []
        for request in list(self.requests):
            for resource_spans in request.resource_spans:
                attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    found.extend((attrs.get("service.name", ""), s) for s in scope_spans.spans)
        return found

    def wait_for(self, name: str, timeout: float = 30) -> list[tuple[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not any(s.name == name for _, s in self.spans()):
                left = deadline - time.monotonic()
                assert left > 0, f"no {name!r} span received: {[s.name for _, s in self.spans()]}"
                self.arrived.wait(left)
        return self.spans()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    servicer = Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield servicer, port
    finally:
        server.stop(None)


def test_a_running_grok2api_exports_its_request_spans_over_otlp(
    receiver: tuple[Receiver, int], sim: SimHandle, tmp_path: Path
) -> None:
    servicer, otlp_port = receiver
    port, pool_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GROK2API_", "SERVER_", "OTEL_"))}  # fmt: skip
    env.pop("REDIS_URL", None)
    env.update(
        DATA_DIR=str(tmp_path / "data"), LOG_FILE_ENABLED="false", SERVER_HOST="127.0.0.1",
        SERVER_PORT=str(port), TOKEN_POOL_ADDR=f"127.0.0.1:{pool_port}",
        GROK2API_NETWORK__BASE_URL=sim.base_url, GROK2API_NETWORK__ASSETS_URL=sim.base_url,
        GROK2API_NETWORK__ACCOUNTS_URL=sim.base_url,
        GROK2API_CHAT__DYNAMIC_STATSIG="false", GROK2API_APP__API_KEY=MASTER_KEY,
        # tracing: only the standard variables
        OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{otlp_port}",
        OTEL_SERVICE_NAME="grok2api-otlp-test", OTEL_TRACES_SAMPLER="parentbased_always_on",
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    proc = subprocess.Popen([sys.executable, "-m", "grok2api_cli.main", "run"], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "never became healthy"
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestsError:
                time.sleep(0.2)
        sim.add_account("sso-otlp-account", tier="super")
        added = subprocess.run(
            [sys.executable, "-m", "grok2api_cli.main", "tokens", "add", "sso-otlp-account",
             "--tier", "super"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert added.returncode == 0, added.stderr
        created = subprocess.run(
            [sys.executable, "-m", "grok2api_cli.main", "keys", "create", "leak-check",
             "--json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert created.returncode == 0, created.stderr
        client_key = json.loads(created.stdout)["secret"]
        answer = requests.post(
            f"{base}/v1/chat/completions", timeout=30,
            headers={"traceparent": TRACEPARENT, "authorization": f"Bearer {MASTER_KEY}"},
            json={"model": "grok-4", "messages": [{"role": "user", "content": "hi"}]})
        assert answer.status_code == 200, answer.text
        found = servicer.wait_for("POST /v1/chat/completions")
        # Traffic that carries every kind of secret: a client key, a wrong key, a prompt.
        for key in (client_key, "g2a-wrong-key-that-is-long-enough"):
            requests.post(
                f"{base}/v1/chat/completions", timeout=30,
                headers={"authorization": f"Bearer {key}"},
                json={"model": "grok-4", "messages": [{"role": "user", "content": PROMPT}]})
        metrics_page = requests.get(f"{base}/metrics", timeout=10).text
        exported = [s.SerializeToString() for _, s in servicer.spans()]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err

    chat = [(svc, s) for svc, s in found if s.name == "POST /v1/chat/completions"]
    assert len(chat) == 1
    service, server = chat[0]
    assert service == "grok2api-otlp-test"
    assert server.trace_id.hex() == TRACE_ID
    children = [s for _, s in servicer.spans() if s.parent_span_id == server.span_id]
    assert any(s.name.startswith("GET /ws/mgw") for s in children)  # grok_web's chat turn
    assert f"trace_id={TRACE_ID}" in out  # and the process's own log line says which trace

    # No secret anywhere an operator looks: logs, metrics, exported spans.
    for secret in ("sso-otlp-account", MASTER_KEY, client_key, PROMPT):
        assert secret not in out + err, f"{secret[:12]}… in the logs"
        assert secret not in metrics_page, f"{secret[:12]}… in /metrics"
        assert not any(secret.encode() in span for span in exported), f"{secret[:12]}… in a span"
