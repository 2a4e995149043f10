"""Tracing off (the default) costs no span objects on the request path at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from grok2api_telemetry import tracing
from grok_sim.testing import SimHandle
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.trace import span as api_span
from traced_stack import running_traced_stack

pytestmark = pytest.mark.e2e

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_no_span_object_is_made_for_chats_and_jobs_when_tracing_is_off(
    sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not tracing.enabled()
    made: list[str] = []
    for cls in (api_span.NonRecordingSpan, sdk_trace.Span):
        original = cls.__init__

        def counting(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            made.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", counting)
    async with running_traced_stack(sim=sim, data_dir=tmp_path) as stack:
        await stack.add("sso-untraced")
        client = stack.client(traceparent=TRACEPARENT)  # a caller's context, ignored
        stream = await client.chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "hi"}], stream=True)
        assert [c async for c in stream]
        assert (await client.images.generate(model="grok-imagine-1.0", prompt="fox", n=1)).data
    assert made == []
    assert tracing.inject() == {}
