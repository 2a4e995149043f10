"""Log records of a traced request carry its trace id beside its request id."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from grok2api_telemetry import logs
from grok_sim.testing import SimHandle
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from traced_stack import running_traced_stack

pytestmark = pytest.mark.e2e

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def restored_root() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging._srcfile)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging._srcfile = saved[2]  # type: ignore[attr-defined]
        logging.logThreads = logging.logProcesses = logging.logMultiprocessing = True


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_the_records_of_a_traced_request_carry_its_trace_id(
    spans: InMemorySpanExporter, sim: SimHandle, tmp_path: Path, restored_root: None,
    capsys: pytest.CaptureFixture[str], fmt: str,
) -> None:
    logs.configure(level="INFO", fmt=fmt, file_dir=None)
    async with running_traced_stack(sim=sim, data_dir=tmp_path) as stack:
        await stack.add("sso-logged")
        client = stack.client(traceparent=TRACEPARENT, **{"x-request-id": "req-traced-1"})
        await client.chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "hi"}])
        untraced = stack.client(**{"x-request-id": "req-untraced-2"})
        await untraced.models.list()
    lines = capsys.readouterr().out.splitlines()
    if fmt == "json":
        records = [orjson.loads(line) for line in lines if line.startswith("{")]
        request = [r for r in records if r["request_id"] == "req-traced-1"]
        assert request and all(r["trace_id"] == TRACE_ID for r in request)
        # a request without a traceparent starts its own trace
        other = [r for r in records if r["request_id"] == "req-untraced-2"]
        assert other and other[0]["trace_id"] not in ("-", TRACE_ID)
        return
    access = [line for line in lines if "http_request" in line and "req-traced-1" in line]
    assert len(access) == 1
    assert access[0].endswith(f"request_id=req-traced-1 trace_id={TRACE_ID}")


def test_without_tracing_text_records_have_no_trace_id(
    restored_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure(level="INFO", fmt="text", file_dir=None)
    logging.getLogger("grok2api.test").info("plain_record")
    line = capsys.readouterr().out.strip()
    assert line.endswith("plain_record request_id=-")
