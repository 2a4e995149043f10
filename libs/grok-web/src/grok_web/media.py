"""Media operations over REST: media posts (§13.1), image edit (§12), video generation
(§13.2, §13.4), upscale and share link (§13.5).

Image edit and video speak the generation ``options.media_protocol`` names:
``media_gen_input`` (grok.com since August 2026; bodies in :mod:`grok_web.media_gen`) or
``media_post`` (the February 2026 media post + ``modelMap`` flow, built here). Callers pass
uploaded files (:class:`assets.UploadedFile`), never URLs or ids of one generation.

A policy refusal (403 with a JSON body) of a media post, an image edit, a video or an
upscale is raised as :class:`errors.ProductUnavailable` (``translate.product_refusals``):
the upstream does not offer that product to this account. Share links are left as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

from grok_web import assets, chat, context, errors, media_gen, translate
from grok_web import events as ev

POST_CREATE = "/rest/media/post/create"
POST_CREATE_LINK = "/rest/media/post/create-link"
VIDEO_UPSCALE = "/rest/media/video/upscale"

MediaType = Literal["MEDIA_POST_TYPE_IMAGE", "MEDIA_POST_TYPE_VIDEO"]

PRESET_FLAGS: Mapping[str, str] = {
    "fun": "--mode=extremely-crazy",
    "normal": "--mode=normal",
    "spicy": "--mode=extremely-spicy-or-crazy",
    "custom": "--mode=custom",
}


@dataclasses.dataclass(frozen=True, slots=True)
class ImageEditRequest:
    """Make ``image_count`` edits of the uploaded reference ``images`` following
    ``prompt``. The media-post flow uses at most 5 references and makes at most 2 images;
    ``mediaGenInput`` at most 8 references, one request per image. A ``parent_post_id``
    names a media post, so it keeps the request on the media-post flow."""

    prompt: str
    images: tuple[assets.UploadedFile, ...]
    parent_post_id: str = ""
    image_count: int = 2
    aspect_ratio: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class VideoExtension:
    """Continue an earlier segment (§13.4): ``extend_post_id`` is the last segment's
    post, ``elapsed_seconds`` the length generated so far."""

    extend_post_id: str
    elapsed_seconds: float
    original_post_id: str = ""
    original_prompt: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class VideoRequest:
    """Generate one video segment, from text or from an uploaded reference ``image``. In
    the media-post flow a post is created first unless ``parent_post_id`` names one (a
    VIDEO post for text-to-video, an IMAGE post for a reference image)."""

    prompt: str
    aspect_ratio: str = "3:2"
    video_length: int = 6
    resolution: Literal["480p", "720p"] = "480p"
    preset: str = "custom"
    image: assets.UploadedFile | None = None
    parent_post_id: str = ""
    extension: VideoExtension | None = None


async def create_media_post(
    *,
    ctx: context.Context,
    credential: str,
    media_type: MediaType,
    prompt: str = "",
    media_url: str = "",
) -> str:
    """Create a media post; returns its id."""
    body: dict[str, Any] = {"mediaType": media_type}
    if prompt:
        body["prompt"] = prompt
    if media_url:
        body["mediaUrl"] = media_url
    with translate.product_refusals():
        data = await _post_json(ctx, credential, POST_CREATE, body, referer=ctx.page("/imagine"))
    post = data.get("post")
    post_id = post.get("id") if isinstance(post, dict) else None
    if not post_id:
        raise translate.malformed("media post answer without post.id")
    return str(post_id)


async def edit_image(
    *, ctx: context.Context, credential: str, request: ImageEditRequest
) -> AsyncIterator[ev.ChatEvent]:
    """Stream an image edit (ImageProgress / ImageFinal events, then one Final)."""
    if ctx.options.media_protocol == "media_post" or request.parent_post_id:
        stream = _edit_with_media_post(ctx, credential, request)
    else:
        stream = _edit_with_media_gen_input(ctx, credential, request)
    async for event in stream:
        yield event


async def _edit_with_media_gen_input(
    ctx: context.Context, credential: str, request: ImageEditRequest
) -> AsyncIterator[ev.ChatEvent]:
    """One request per image (the August generation makes one per request), one after
    another; only the last request's Final is passed on."""
    if not request.images:
        raise errors.UsageError("an image edit needs at least one reference image")
    missing = [f.file_id for f in request.images if not f.file_metadata_id]
    if missing:  # §9.2: edits name uploads by fileMetadataId, which the answer lacked
        raise translate.malformed(f"upload answers without a fileMetadataId: {missing}")
    body = media_gen.edit_body(
        prompt=request.prompt,
        input_assets=[f.file_metadata_id for f in request.images],
        aspect_ratio=request.aspect_ratio,
    )
    count = max(1, request.image_count)
    for turn in range(count):
        async for event in _stream(ctx, credential, body, referer="/imagine", video=False):
            if isinstance(event, ev.Final) and turn < count - 1:
                continue
            yield event


async def _edit_with_media_post(
    ctx: context.Context, credential: str, request: ImageEditRequest
) -> AsyncIterator[ev.ChatEvent]:
    post_id = request.parent_post_id or await create_media_post(
        ctx=ctx, credential=credential, media_type="MEDIA_POST_TYPE_IMAGE", prompt=request.prompt
    )
    urls = [assets.asset_url(ctx=ctx, path=f.file_uri) for f in request.images[:5]]
    defaults = ctx.options.chat
    body = {
        "temporary": defaults.temporary,
        "modelName": "imagine-image-edit",
        "message": request.prompt,
        "enableImageGeneration": True,
        "returnImageBytes": False,
        "returnRawGrokInXaiRequest": False,
        "enableImageStreaming": True,
        "imageGenerationCount": max(1, min(request.image_count, 2)),
        "forceConcise": False,
        "enableSideBySide": True,
        "sendFinalMetadata": True,
        "isReasoning": False,
        "disableTextFollowUps": True,
        "disableMemory": defaults.disable_memory,
        "forceSideBySide": False,
        "responseMetadata": {
            "modelConfigOverride": {
                "modelMap": {
                    "imageEditModel": "imagine",
                    "imageEditModelConfig": {"imageReferences": urls, "parentPostId": post_id},
                }
            }
        },
    }
    referer = f"/imagine/post/{post_id}"
    async for event in _stream(ctx, credential, body, referer=referer, video=False):
        yield event


async def generate_video(
    *, ctx: context.Context, credential: str, request: VideoRequest
) -> AsyncIterator[ev.ChatEvent]:
    """Stream a video generation (VideoProgress / VideoFinal events, then Final).

    The August generation documents text-to-video of up to 15 s only (§13.2 HEAD, §22):
    a reference image, an extension (§13.4), a named parent post or a longer video keep
    the media-post flow even when ``media_protocol`` is ``media_gen_input``."""
    if _text_to_video_by_media_gen_input(ctx, request):
        preset = request.preset if request.preset in PRESET_FLAGS else "custom"
        body = media_gen.video_body(
            prompt=request.prompt,
            mode_flag=PRESET_FLAGS[preset],
            aspect_ratio=request.aspect_ratio,
            duration=request.video_length,
            resolution=request.resolution,
        )
        referer = "/imagine"
    else:
        body, referer = await _video_with_media_post(ctx, credential, request)
    async for event in _stream(ctx, credential, body, referer=referer, video=True):
        yield event


def _text_to_video_by_media_gen_input(ctx: context.Context, request: VideoRequest) -> bool:
    return (
        ctx.options.media_protocol == "media_gen_input"
        and request.image is None
        and request.extension is None
        and not request.parent_post_id
        and request.video_length <= media_gen.MAX_VIDEO_SECONDS
    )


async def _video_with_media_post(
    ctx: context.Context, credential: str, request: VideoRequest
) -> tuple[dict[str, Any], str]:
    """The media post (created unless named) and the chat body and Referer path."""
    image_url = assets.asset_url(ctx=ctx, path=request.image.file_uri) if request.image else ""
    post_id = request.parent_post_id
    if not post_id:
        post_id = await create_media_post(
            ctx=ctx,
            credential=credential,
            media_type="MEDIA_POST_TYPE_IMAGE" if image_url else "MEDIA_POST_TYPE_VIDEO",
            prompt="" if image_url else request.prompt,
            media_url=image_url,
        )
    body = video_body(
        request=request, post_id=post_id, temporary=ctx.options.chat.temporary,
        image_url=image_url,
    )  # fmt: skip
    return body, (f"/imagine/post/{post_id}" if request.extension else "/imagine")


async def _stream(
    ctx: context.Context, credential: str, body: Mapping[str, Any], *, referer: str, video: bool
) -> AsyncIterator[ev.ChatEvent]:
    """One media request on REST app-chat; a policy refusal is ProductUnavailable."""
    headers = ctx.headers.json(credential=credential, origin=ctx.origin, referer=ctx.page(referer))
    timeouts = ctx.options.timeouts
    with translate.product_refusals():
        async for event in chat.stream_app_chat(
            ctx=ctx,
            headers=headers,
            body=body,
            credential=credential,
            idle_timeout=timeouts.video_idle if video else timeouts.stream_idle,
        ):
            yield event


def video_body(
    *, request: VideoRequest, post_id: str, temporary: bool, image_url: str = ""
) -> dict[str, Any]:
    """The v2.x video generation body (§13.2), with the §13.4 extension fields;
    ``image_url`` is the reference image's asset URL ('' for text-to-video)."""
    preset = request.preset if request.preset in PRESET_FLAGS else "custom"
    message = f"{request.prompt} {PRESET_FLAGS[preset]}"
    if image_url:
        message = f"{image_url}  {message}"
    config: dict[str, Any] = {
        "parentPostId": post_id,
        "aspectRatio": request.aspect_ratio,
        "videoLength": request.video_length,
        "resolutionName": request.resolution,
    }
    extension = request.extension
    if extension is not None:
        config.update(
            {
                "isVideoExtension": True,
                # v2.x starts the new segment one frame (1/24 s) after the elapsed time
                "videoExtensionStartTime": extension.elapsed_seconds + 1 / 24,
                "extendPostId": extension.extend_post_id,
                "stitchWithExtendPostId": True,
                "originalPrompt": extension.original_prompt or request.prompt,
                "originalPostId": extension.original_post_id or post_id,
                "originalRefType": "ORIGINAL_REF_TYPE_VIDEO_EXTENSION",
                "mode": preset,
                "isVideoEdit": False,
            }
        )
    body: dict[str, Any] = {
        "temporary": temporary,
        "modelName": "grok-3",
        "message": message,
        "toolOverrides": {"videoGen": True},
        "enableSideBySide": True,
        "responseMetadata": {
            "experiments": [],
            "modelConfigOverride": {"modelMap": {"videoGenModelConfig": config}},
        },
    }
    if image_url:
        body["fileAttachments"] = [post_id]
    return body


async def upscale_video(*, ctx: context.Context, credential: str, video_id: str) -> str:
    """Ask for the HD version of a video; returns its URL."""
    with translate.product_refusals():
        data = await _post_json(
            ctx, credential, VIDEO_UPSCALE, {"videoId": video_id}, referer=ctx.page("/imagine")
        )
    url = data.get("hdMediaUrl")
    if not url:
        raise translate.malformed("upscale answer without hdMediaUrl")
    return str(url)


async def create_share_link(*, ctx: context.Context, credential: str, post_id: str) -> str:
    """Create a public share link for a post; returns it."""
    body = {"postId": post_id, "source": "post-page", "platform": "web"}
    data = await _post_json(ctx, credential, POST_CREATE_LINK, body, referer=ctx.page("/imagine"))
    link = data.get("shareLink")
    if not link:
        raise translate.malformed("create-link answer without shareLink")
    return str(link)


async def _post_json(
    ctx: context.Context, credential: str, path: str, body: Mapping[str, Any], *, referer: str
) -> dict[str, Any]:
    headers = ctx.headers.json(credential=credential, origin=ctx.origin, referer=referer)
    response = await ctx.transport.request(
        "POST", ctx.url(path), headers=headers, json=body, secrets=(credential,)
    )
    return translate.json_object(response.content, what=path)
