"""Media operations over REST: media posts (§13.1), image edit (§12 v2.x), video
generation (§13.2 v2.x), upscale and share link (§13.5).

A policy refusal (403 with a JSON body) of a media post, an image edit, a video or an
upscale is raised as :class:`errors.ProductUnavailable` (``translate.product_refusals``):
the upstream does not offer that product to this account. Share links are left as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

from grok_web import chat, context, translate
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
    """Edit reference images (absolute asset URLs, ≤5) following ``prompt``."""

    prompt: str
    image_urls: tuple[str, ...]
    parent_post_id: str = ""
    image_count: int = 2


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
    """Generate one video segment. Without ``parent_post_id`` a media post is created
    first (a VIDEO post for text-to-video, an IMAGE post when ``image_url`` is set)."""

    prompt: str
    aspect_ratio: str = "3:2"
    video_length: int = 6
    resolution: Literal["480p", "720p"] = "480p"
    preset: str = "custom"
    image_url: str = ""
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
    """Stream an image edit (ImageProgress / ImageFinal events, then Final)."""
    post_id = request.parent_post_id or await create_media_post(
        ctx=ctx, credential=credential, media_type="MEDIA_POST_TYPE_IMAGE", prompt=request.prompt
    )
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
                    "imageEditModelConfig": {
                        "imageReferences": list(request.image_urls[:5]),
                        "parentPostId": post_id,
                    },
                }
            }
        },
    }
    headers = ctx.headers.json(
        credential=credential, origin=ctx.origin, referer=ctx.page(f"/imagine/post/{post_id}")
    )
    with translate.product_refusals():
        async for event in chat.stream_app_chat(
            ctx=ctx,
            headers=headers,
            body=body,
            credential=credential,
            idle_timeout=ctx.options.timeouts.stream_idle,
        ):
            yield event


async def generate_video(
    *, ctx: context.Context, credential: str, request: VideoRequest
) -> AsyncIterator[ev.ChatEvent]:
    """Stream a video generation (VideoProgress / VideoFinal events, then Final)."""
    post_id = request.parent_post_id
    if not post_id:
        post_id = await create_media_post(
            ctx=ctx,
            credential=credential,
            media_type="MEDIA_POST_TYPE_IMAGE" if request.image_url else "MEDIA_POST_TYPE_VIDEO",
            prompt="" if request.image_url else request.prompt,
            media_url=request.image_url,
        )
    body = video_body(request=request, post_id=post_id, temporary=ctx.options.chat.temporary)
    referer = f"/imagine/post/{post_id}" if request.extension else "/imagine"
    headers = ctx.headers.json(credential=credential, origin=ctx.origin, referer=ctx.page(referer))
    with translate.product_refusals():
        async for event in chat.stream_app_chat(
            ctx=ctx,
            headers=headers,
            body=body,
            credential=credential,
            idle_timeout=ctx.options.timeouts.video_idle,
        ):
            yield event


def video_body(*, request: VideoRequest, post_id: str, temporary: bool) -> dict[str, Any]:
    """The v2.x video generation body (§13.2), with the §13.4 extension fields."""
    preset = request.preset if request.preset in PRESET_FLAGS else "custom"
    message = f"{request.prompt} {PRESET_FLAGS[preset]}"
    if request.image_url:
        message = f"{request.image_url}  {message}"
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
    if request.image_url:
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
