"""Image generation jobs (``image.generate``).

Upstream paths in the order of protocol §11: the Imagine WebSocket (``image.image_ws``),
and chat-based generation (§11.2: a ``fast`` chat turn ``Drawing: <prompt>`` with image
generation on) when the WebSocket is off or refused. Only final images are kept (the
WebSocket client tells previews from finals by ``image.*`` sizes). ``n`` images come from
parallel sessions, each leasing its own account; a round that yields fewer (moderated
slots) is followed by another for the rest.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Coroutine, Mapping
from typing import Any

from grok2api_jobs import Job
from grok2api_media.jobs import ImageJob, ImageResult, MediaFile
from grok2api_poolclient import leases
from grok2api_poolclient.egress import egress_label, grok_egress
from grok_web import chat as grok_chat
from grok_web import errors as grok_errors
from grok_web import events as ev
from grok_web import imagine

from . import downloads, failures, leased
from .context import MediaContext
from .meter import Meter, Publish

log = logging.getLogger(__name__)

# Finals one Imagine session is counted on (the upstream sends about 4 in quality mode and
# 6 in speed mode); one chat-based turn asks for 2 (§11.2).
PER_IMAGINE_SESSION = 4
PER_CHAT_TURN = 2
MAX_ROUNDS = 3
# Chat-based generation runs in the fast mode (§11.2); any catalogue model of that mode.
LITE_CHAT_MODEL = "grok-4-fast"
# ``![alt](url)`` in an answer's text.
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?[^)]*\)")
# After a refused WebSocket handshake, go straight to chat-based generation for this long.
WS_REFUSED_SECONDS = 300.0


class ImageHandler:
    def __init__(self, ctx: MediaContext) -> None:
        self._ctx = ctx
        self._ws_refused_until = 0.0

    async def __call__(self, job: Job, *, progress: Publish) -> Mapping[str, Any]:
        request = ImageJob.model_validate(job.payload)
        meter = Meter(progress, attempt=job.attempt)
        async with failures.as_job_errors(self._ctx, kind="image"):
            files = await self._generate(job, request, meter)
        return ImageResult(images=tuple(files)).model_dump()

    async def _generate(self, job: Job, request: ImageJob, meter: Meter) -> list[MediaFile]:
        have: list[MediaFile] = []
        last_failure: BaseException | None = None
        for _ in range(MAX_ROUNDS):
            missing = request.n - len(have)
            if missing <= 0:
                break
            counts = _split(missing, PER_IMAGINE_SESSION)
            sessions = [self._session(job, request, meter, count) for count in counts]
            results = await _outcomes(sessions)
            gained = 0
            for result in results:
                if isinstance(result, BaseException):
                    if isinstance(result, asyncio.CancelledError):
                        raise result
                    last_failure = result
                else:
                    have.extend(result)
                    gained += len(result)
            if not gained:
                break  # every session failed after its own retries: more rounds fail too
        if not have:
            raise last_failure or grok_errors.EmptyStream("no image was generated")
        if len(have) < request.n:
            log.info("image_job_short id=%s wanted=%d got=%d", job.id, request.n, len(have))
        return have[: request.n]

    async def _session(
        self, job: Job, request: ImageJob, meter: Meter, count: int
    ) -> list[MediaFile]:
        async def attempt(lease: leases.Lease) -> list[MediaFile]:
            if self._ctx.settings().image.image_ws and time.monotonic() >= self._ws_refused_until:
                try:
                    return await self._imagine(lease, request, meter, count)
                except grok_errors.RequestRejected as exc:
                    # The handshake was refused (the upstream retired the socket for a while
                    # in 2026): chat-based generation serves instead, with the same account.
                    self._ws_refused_until = time.monotonic() + WS_REFUSED_SECONDS
                    log.warning(
                        "imagine_ws_refused status=%s egress=%s: using chat-based generation",
                        exc.status, egress_label(lease),
                    )  # fmt: skip
            return await self._chat_based(lease, request, meter, count)

        return await leased.run(
            self._ctx, model=request.model, attempt=attempt, request_id=job.id,
            account_tags=request.account_tags,
        )  # fmt: skip

    async def _imagine(
        self, lease: leases.Lease, request: ImageJob, meter: Meter, count: int
    ) -> list[MediaFile]:
        call = imagine.ImagineRequest(
            prompt=request.prompt,
            count=count,
            aspect_ratio=request.aspect_ratio,
            previews=request.partials,
        )
        finals: list[ev.ImageFinal] = []
        stream = self._ctx.grok.imagine(
            credential=lease.credential, request=call, egress=grok_egress(lease)
        )
        async for event in stream:
            if isinstance(event, ev.ImageFinal):
                finals.append(event)
            elif not event.moderated:
                await self._preview(request, meter, event)
        await meter.report(90, "downloading")
        return [await self._store(lease, final) for final in finals[:count]]

    async def _preview(self, request: ImageJob, meter: Meter, event: ev.ImageProgress) -> None:
        if request.partials and event.data:
            preview = await downloads.store_inline(self._ctx, event.data)
            await meter.partial(preview, progress=event.progress)
        else:
            await meter.report(event.progress * 0.9, "generating")

    async def _chat_based(
        self, lease: leases.Lease, request: ImageJob, meter: Meter, count: int
    ) -> list[MediaFile]:
        finals: dict[str, ev.ImageFinal] = {}
        moderated = 0
        for _ in range(math.ceil(count / PER_CHAT_TURN)):
            turn = grok_chat.ChatRequest(
                message=f"Drawing: {request.prompt}",
                model=LITE_CHAT_MODEL,
                image_generation_count=PER_CHAT_TURN,
            )
            found = len(finals)
            events = self._ctx.grok.chat(
                credential=lease.credential, request=turn, user_id=lease.user_id,
                egress=grok_egress(lease),
            )  # fmt: skip
            async for event in events:
                if isinstance(event, ev.ConversationStarted):
                    self._ctx.user_ids.discovered(lease, event.user_id)
                elif isinstance(event, ev.ImageFinal) and event.url:
                    finals.setdefault(event.url, event)
                elif isinstance(event, ev.ImageProgress):
                    moderated += event.moderated
                    await meter.report(event.progress * 0.9, "generating")
                elif isinstance(event, ev.Final) and len(finals) == found:
                    for url in images_named_in(event):
                        finals.setdefault(url, ev.ImageFinal(image_id=url, url=url))
            if len(finals) >= count:
                break
        if not finals:
            if moderated:
                raise grok_errors.ContentBlocked("chat-based generation was moderated")
            raise grok_errors.EmptyStream("chat-based generation produced no image")
        await meter.report(90, "downloading")
        return [await self._store(lease, final) for final in list(finals.values())[:count]]

    async def _store(self, lease: leases.Lease, final: ev.ImageFinal) -> MediaFile:
        if final.data:
            return await downloads.store_inline(
                self._ctx, final.data, width=final.width, height=final.height
            )
        return await downloads.store_download(
            self._ctx, credential=lease.credential, url=final.url, kind="image",
            width=final.width, height=final.height, egress=grok_egress(lease),
        )  # fmt: skip


def images_named_in(final: ev.Final) -> list[str]:
    """Generated images a turn without image cards still names (§11.2's fallbacks): the
    answer's ``generatedImageUrls``, then markdown images of generated assets in its text."""
    named = list(final.generated_image_urls)
    named += [url for url in MARKDOWN_IMAGE.findall(final.message) if "/generated/" in url]
    return [url for url in dict.fromkeys(named) if "-part-" not in url]  # no previews


async def _outcomes(sessions: list[Coroutine[Any, Any, list[MediaFile]]]) -> list[Any]:
    """Each session's files or exception, as ``gather(return_exceptions=True)`` gives them;
    a lone session (``n`` up to 4) runs in the job's own task, without one of its own."""
    if len(sessions) == 1:
        try:
            return [await sessions[0]]
        except Exception as exc:
            return [exc]
    return await asyncio.gather(*sessions, return_exceptions=True)


def _split(total: int, per: int) -> list[int]:
    """``total`` as session sizes of at most ``per`` (10, 4 → [4, 4, 2])."""
    return [min(per, total - start) for start in range(0, total, per)]
