"""No credential, key, cookie, account id or prompt text reaches a span, whatever the
traffic carries: successful and retried chats, an upload, an image job."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from grok_sim.testing import SimHandle
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from traced_stack import API_KEY, running_traced_stack

pytestmark = pytest.mark.e2e

GOOD = "sso-good-credential-SECRET-91c2"
REJECTED = "sso-rejected-credential-SECRET-4d7e"
PROMPT = "my private prompt PROMPT-TEXT-5b1f"
COOKIE = "session=browser-cookie-SECRET-a8e0"
# a 1x1 PNG, so the chat uploads an attachment (upload span) before it asks
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4a10000000049454e44ae426082"
)).decode()


def everything_recorded(exporter: InMemorySpanExporter) -> str:
    parts: list[str] = []
    for span in exporter.get_finished_spans():
        parts.append(span.name)
        parts.extend(f"{k}={v!s}" for k, v in (span.attributes or {}).items())
        for event in span.events:
            parts.append(event.name)
            parts.extend(f"{k}={v!s}" for k, v in (event.attributes or {}).items())
        parts.extend(f"{k}={v!s}" for k, v in span.resource.attributes.items())
        if span.status.description:
            parts.append(span.status.description)
    return "\n".join(parts)


async def test_spans_carry_no_secret_account_id_or_prompt(
    spans: InMemorySpanExporter, sim: SimHandle, tmp_path: Path
) -> None:
    async with running_traced_stack(sim=sim, data_dir=tmp_path) as stack:
        await stack.add(REJECTED)
        await stack.add(GOOD)
        sim.set_fault("401", account=REJECTED)
        client = stack.client(cookie=COOKIE)
        for _ in range(2):  # at least one of them meets the rejecting account first
            stream = await client.chat.completions.create(model="grok-4", stream=True, messages=[
                {"role": "user", "content": [
                    {"type": "text", "text": PROMPT},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ]},
            ])
            assert [c async for c in stream]
        answer = await client.images.generate(model="grok-imagine-1.0", prompt=PROMPT, n=1)
        assert answer.data
        ids = list(stack.ids.values())

    recorded = everything_recorded(spans)
    assert "upstream_attempt_failed" in recorded  # the retry was traced, as an event
    assert "url.template=/http/upload-file-v2/direct" in recorded  # the attachment's upload
    for secret in (GOOD, REJECTED, API_KEY, PROMPT, "PROMPT-TEXT", "browser-cookie", *ids):
        assert secret not in recorded, secret
