"""Media endpoint tests: the real gateway app with a real in-process job queue and a real
blob store, and a fake media worker answering jobs with scripted events (no upstream)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import openai
from gateway.app import create_app
from gateway_fakes import FakeGrok, FakePool, make_settings, serve
from grok2api_jobs import InProcessJobQueue, Job, events
from grok2api_media import jobs as media_jobs
from grok2api_media.blobs import BlobStore
from grok2api_settings.live import LiveSettings
from PIL import Image

Script = Callable[["FakeWorker", Job], Awaitable[None]]


def png(width: int = 8, height: int = 8, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(width: int = 8, height: int = 8, color: str = "blue") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()


VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8


class FakeWorker:
    """Claims every job and runs ``scripts[kind]`` on it (default: ``answer``). Records each
    job it saw and whether its script ran to the end or found the job finished elsewhere."""

    def __init__(self, queue: InProcessJobQueue, blobs: BlobStore):
        self.queue = queue
        self.blobs = blobs
        self.jobs: list[Job] = []
        self.scripts: dict[str, Script] = {}
        self.stopped: list[str] = []  # ids of jobs whose publishing was refused (cancelled)
        self.made: list[bytes] = []  # the final images' bytes, in order
        self._tasks: set[asyncio.Task[None]] = set()
        self.claimed = asyncio.Event()

    async def run(self) -> None:
        while True:
            for delivery in await self.queue.claim(consumer="fake", count=10, block_ms=50):
                self.jobs.append(delivery.job)
                self.claimed.set()
                task = asyncio.create_task(self._handle(delivery.job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                await self.queue.ack(delivery)

    async def _handle(self, job: Job) -> None:
        script = self.scripts.get(job.kind, answer)
        await script(self, job)

    async def progress(self, job: Job, percent: int, **extra: Any) -> bool:
        data = media_jobs.Progress(progress=percent, stage="generating", **extra).model_dump()
        published = await self.queue.publish_event(job.id, events.progress(data))
        if not published:
            self.stopped.append(job.id)
        return published

    async def fail(self, job: Job, *, code: str, message: str, status: int,
                   retry_after: float | None = None) -> None:
        data = {"code": code, "message": message, "status": status, "retry_after": retry_after}
        await self.queue.publish_event(job.id, events.JobEvent(events.EventType.ERROR, data))

    async def image(self, data: bytes, *, content_type: str = "image/png") -> media_jobs.MediaFile:
        return await self.blobs.put_bytes("image", data, content_type=content_type,
                                          width=8, height=8)

    async def finish(self, job: Job, result: dict[str, Any]) -> None:
        await self.queue.publish_event(job.id, events.result(result))

    def last(self) -> Job:
        return self.jobs[-1]


async def answer(worker: FakeWorker, job: Job) -> None:
    """The default script: progress, partials when asked, then the result of the kind."""
    await worker.progress(job, 10)
    if job.kind == media_jobs.KIND_VIDEO:
        await worker.progress(job, 40)
        await worker.progress(job, 80)
        video = await worker.blobs.put_bytes("video", VIDEO_BYTES, content_type="video/mp4")
        thumb = await worker.image(jpeg(), content_type="image/jpeg")
        result = media_jobs.VideoResult(video=video, thumbnail=thumb, resolution="480p",
                                        seconds=job.payload["seconds"])
        await worker.finish(job, result.model_dump(mode="json"))
        return
    count = int(job.payload.get("n", 1))
    if job.payload.get("partials"):
        for index in range(count):
            preview = await worker.image(png(color="gray"))
            await worker.progress(job, 50, index=index, partial=preview)
    await worker.progress(job, 90)
    files = []
    for index in range(count):
        data = png(color=["red", "green", "blue", "white", "black"][index % 5])
        worker.made.append(data)
        files.append(await worker.image(data))
    await worker.finish(job, media_jobs.ImageResult(images=tuple(files)).model_dump(mode="json"))


async def hang(worker: FakeWorker, job: Job) -> None:
    """Publishes progress until the job is finished by someone else (cancelled)."""
    percent = 1
    while await worker.progress(job, percent):
        percent = min(99, percent + 1)
        await asyncio.sleep(0.02)


def failing(code: str, message: str, status: int, retry_after: float | None = None) -> Script:
    async def run(worker: FakeWorker, job: Job) -> None:
        await worker.progress(job, 5)
        await worker.fail(job, code=code, message=message, status=status,
                          retry_after=retry_after)

    return run


@dataclasses.dataclass
class MediaGateway:
    base_url: str
    live: LiveSettings
    queue: InProcessJobQueue
    blobs: BlobStore
    worker: FakeWorker
    clients: list[openai.AsyncOpenAI] = dataclasses.field(default_factory=list)

    def client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        kwargs.setdefault("api_key", "sk-test")
        client = openai.AsyncOpenAI(base_url=self.base_url + "/v1", max_retries=0, **kwargs)
        self.clients.append(client)
        return client

    async def record(self, job_id: str) -> Any:
        return await self.queue.record(job_id)

    async def wait_status(self, job_id: str, status: str, within: float = 5.0) -> Any:
        async with asyncio.timeout(within):
            while True:
                record = await self.queue.record(job_id)
                if record is not None and record.status.value == status:
                    return record
                await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def media_gateway(
    tmp_path: Path, *, client_keys: Any = None, **sections: Any
) -> AsyncIterator[MediaGateway]:
    """``client_keys``: a client-key repository the gateway checks keys against."""
    queue = InProcessJobQueue()
    blobs = BlobStore(tmp_path / "media", limit_bytes=None)
    live = make_settings(**sections)
    app = create_app(settings=live, pool=FakePool(), grok=FakeGrok(), client_keys=client_keys,
                     blobs=blobs, jobs=queue)
    worker = FakeWorker(queue, blobs)
    task = asyncio.create_task(worker.run())
    try:
        async with serve(app) as base_url:
            live.apply({"app.app_url": base_url})  # file links point at this server
            gateway = MediaGateway(base_url=base_url, live=live, queue=queue, blobs=blobs,
                                   worker=worker)
            try:
                yield gateway
            finally:
                for client in gateway.clients:
                    await client.close()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
