"""Every grok.com call a media job makes under a lease leaves through the lease's egress:
Imagine WebSockets, the chat fallback, uploads, edits, videos, upscales and downloads.

The real path (simulator, token pool with a stored egress, GrokClient, blob store) with a
recorder around the GrokClient (which egress each call was given) and a forwarding proxy
as the egress's proxy (what passed through it); at the simulator every request carries
the egress's user agent and clearance cookies; failure logs name the egress, never its
proxy.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from grok2api_jobs import EventType
from grok2api_media import jobs
from grok_sim.testing import SimHandle
from grok_web import errors as grok_errors
from grok_web import options as grok_options
from media_stack import MediaStack, running_media_stack
from media_worker.media import downloads
from media_worker.media.context import MediaContext
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "grok_web"))
import forwarding_proxy  # the grok_web tests' minimal proxy

EGRESS = "media-eu"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36 eu"
CLEARANCE = "cf_clearance=cf-media-eu-value; __cf_bm=bm-media-eu"
CREDENTIAL = "media-egress"
CALLS = frozenset({
    "imagine", "chat", "edit_image", "generate_video", "upscale_video", "upload_file",
    "download_asset",
})  # fmt: skip


class RecordingGrok:
    """The GrokClient, recording which egress each upstream call was given."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in CALLS:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, kwargs.get("egress")))
            return attr(*args, **kwargs)

        return call


Stacked = tuple[MediaStack, RecordingGrok, forwarding_proxy.ForwardingProxy]


@pytest.fixture
def start(sim: SimHandle, tmp_path: Path) -> Callable[..., Any]:
    """``async with start(**settings) as (stack, grok, proxy)``: one account bound to one
    egress through a forwarding proxy."""

    @contextlib.asynccontextmanager
    async def started(**overrides: Any) -> AsyncIterator[Stacked]:
        proxy = await forwarding_proxy.start(username="px", password="px-secret")
        recorders: list[RecordingGrok] = []

        def wrap(grok: Any) -> RecordingGrok:
            recorders.append(RecordingGrok(grok))
            return recorders[-1]

        try:
            async with running_media_stack(
                sim=sim, data_dir=tmp_path, wrap_grok=wrap, **overrides
            ) as stack:
                await stack.pool.add_egress(
                    name=EGRESS, proxy_url=proxy.url, user_agent=UA, clearance_cookies=CLEARANCE
                )
                await stack.add(CREDENTIAL, auto=80, fast=80)
                yield stack, recorders[0], proxy
        finally:
            await proxy.close()

    return started


def png_bytes(color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buffer, "PNG")
    return buffer.getvalue()


def assert_through_the_egress(stacked: Stacked, *, calls: set[str]) -> None:
    stack, grok, proxy = stacked
    assert calls <= {name for name, _ in grok.calls}
    for name, egress in grok.calls:
        assert egress is not None and egress.name == EGRESS, name
    handshakes = [r for r in stack.sim.requests() if r["method"] != "WS"]
    assert handshakes
    for record in handshakes:
        headers = {k.lower(): v for k, v in record["headers"].items()}
        assert headers["user-agent"] == UA, record["path"]
        assert CLEARANCE in headers.get("cookie", ""), record["path"]
    proxied = {path.split("?")[0] for path in proxy.paths()}
    for record in handshakes:
        if record["path"].startswith("/ws/"):
            assert any(line.startswith("CONNECT ") for line in proxy.seen)  # the tunnel
        else:
            assert record["path"] in proxied, record["path"]


async def test_an_imagine_job_uses_the_egress(start: Callable[..., Any]) -> None:
    async with start() as stacked:
        _, final = await stacked[0].run(
            jobs.KIND_IMAGE, {"model": "grok-imagine-1.0", "prompt": "a red fox", "n": 1}
        )
        assert final.type is EventType.RESULT, final.data
        assert_through_the_egress(stacked, calls={"imagine"})


@pytest.mark.parametrize("protocol", ["rest", "mgw"])
async def test_chat_based_images_and_their_downloads_use_the_egress(
    start: Callable[..., Any], protocol: str
) -> None:
    async with start(image={"image_ws": False}, network={"chat_protocol": protocol}) as stacked:
        _, final = await stacked[0].run(
            jobs.KIND_IMAGE, {"model": "grok-imagine-1.0", "prompt": "a red fox", "n": 1}
        )
        assert final.type is EventType.RESULT, final.data
        assert_through_the_egress(stacked, calls={"chat", "download_asset"})


async def test_an_edit_uploads_edits_and_downloads_through_the_egress(
    start: Callable[..., Any],
) -> None:
    async with start() as stacked:
        stack = stacked[0]
        reference = await stack.blobs.put_bytes("upload", png_bytes(), content_type="image/png")
        payload = {"model": "grok-imagine-1.0-edit", "prompt": "make it green", "n": 1,
                   "images": [reference.model_dump()]}  # fmt: skip
        _, final = await stack.run(jobs.KIND_IMAGE_EDIT, payload)
        assert final.type is EventType.RESULT, final.data
        assert_through_the_egress(stacked, calls={"upload_file", "edit_image", "download_asset"})


async def test_a_video_uploads_generates_upscales_and_downloads_through_the_egress(
    start: Callable[..., Any],
) -> None:
    async with start() as stacked:
        stack = stacked[0]
        reference = await stack.blobs.put_bytes("upload", png_bytes(), content_type="image/png")
        payload = {"model": "grok-imagine-1.0-video", "prompt": "waves", "seconds": 6,
                   "resolution": "720p", "image": reference.model_dump()}  # fmt: skip
        _, final = await stack.run(jobs.KIND_VIDEO, payload)
        assert final.type is EventType.RESULT, final.data
        assert jobs.VideoResult.model_validate(final.data).upscaled  # a basic account: 480p+up
        assert_through_the_egress(
            stacked, calls={"upload_file", "generate_video", "upscale_video", "download_asset"}
        )


class FlakyAssets:
    """Asset downloads that fail once with a reset, then serve ``data``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.failed = False

    async def download_asset(self, **_: Any) -> AsyncIterator[bytes]:
        if not self.failed:
            self.failed = True
            raise grok_errors.UpstreamUnavailable("connection reset")
        yield self.data


async def test_a_retried_download_logs_the_egress_by_name(
    start: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="media_worker")
    async with start() as (stack, _, proxy):
        ctx = MediaContext(
            settings=lambda: stack.live.current, pool=stack.pool,
            grok=FlakyAssets(png_bytes()), blobs=stack.blobs,  # type: ignore[arg-type]
        )  # fmt: skip
        egress = grok_options.egress(egress_id="eg-1", name=EGRESS, proxy_url=proxy.url)
        stored = await downloads.store_download(
            ctx, credential="c", url="users/u/a/image.png", kind="image", egress=egress
        )
    assert stored.size > 0
    [retry] = [r.getMessage() for r in caplog.records if "asset_download_retry" in r.getMessage()]
    assert f"egress={EGRESS}" in retry
    assert "127.0.0.1" not in caplog.text and "px-secret" not in caplog.text
