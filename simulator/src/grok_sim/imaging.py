"""Image-in-chat, image-edit and video frames, with their files registered as assets."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from . import frames, media
from .accounts import Account
from .assets import Asset
from .chatbody import ChatRequest
from .state import SimState

VIDEO_STEPS = (0, 25, 50, 75, 100)


def store(
    state: SimState, *, account: Account, asset_id: str, path: str, mime: str, data: Any,
    listed: bool = True, name: str | None = None,
) -> str:
    """Register a file owned by `account`; `data` is bytes or a zero-argument loader."""
    loader = data if callable(data) else (lambda: data)
    state.assets.put(Asset(
        asset_id=asset_id, owner=account.user_id, path=path, name=name or path.rsplit("/", 1)[-1],
        mime_type=mime, load=loader, created=time.time(), listed=listed,
    ))
    return path


def generated_image(state: SimState, *, account: Account) -> tuple[str, str, str]:
    """A new generated image: (asset id, preview path, final path)."""
    image_id = state.new_id("image")
    variant = media.variant_for(image_id)
    base = f"users/{account.user_id}/generated/{image_id}"
    part = store(state, account=account, asset_id=image_id + "-part-0", listed=False,
                 path=f"{base}-part-0/image.jpg", mime="image/jpeg",
                 data=partial(media.preview_jpeg, variant))
    final = store(state, account=account, asset_id=image_id, path=f"{base}/image.jpg",
                  mime="image/jpeg", data=partial(media.final_jpeg, variant))
    return image_id, part, final


def image_frames(
    state: SimState, *, account: Account, request: ChatRequest, response_id: str,
    parent_id: str, moderated: bool,
) -> list[bytes]:
    out: list[bytes] = []
    finals: list[str] = []
    cards: list[dict[str, Any]] = []
    for index in range(request.image_count):
        image_id, part, final = generated_image(state, account=account)
        progress = {"imageId": image_id, "imageIndex": index, "assetId": image_id,
                    "moderated": False}
        out.append(frames.response({
            "streamingImageGenerationResponse": {**progress, "progress": 50, "imageUrl": part},
            "responseId": response_id, "isThinking": False, "messageTag": "final",
        }))
        out.append(frames.response({
            "streamingImageGenerationResponse": {
                **progress, "progress": 100, "imageUrl": final, "isFinal": True,
                "moderated": moderated,
            },
            "responseId": response_id, "isThinking": False, "messageTag": "final",
        }))
        card = {
            "id": image_id[:8], "type": "render_generated_image",
            "cardType": "generated_image_card",
            "image_chunk": {"imageUuid": image_id, "imageUrl": final, "progress": 100,
                            "moderated": moderated},
        }
        out.append(frames.card_attachment(card, response_id=response_id))
        cards.append(card)
        finals.append(final)
    text = "Here are the generated images." if not moderated else "The image was moderated."
    out.append(frames.token(text, response_id=response_id, thinking=False, tag="final", step=1,
                            first=True))
    out.extend([
        frames.model_response(response_id=response_id, parent_response_id=parent_id,
                              message=text, generated_image_urls=finals, cards=cards),
        frames.soft_stop(response_id=response_id),
        frames.final_metadata(response_id=response_id),
    ])
    return out


def video_frames(
    state: SimState, *, account: Account, request: ChatRequest, response_id: str,
    parent_id: str, moderated: bool,
) -> list[bytes]:
    config = request.video_config or {}
    video_id = state.new_id("video")
    post_id = state.new_id("post")
    account.posts[post_id] = {"id": post_id, "mediaType": "MEDIA_POST_TYPE_VIDEO",
                              "videoId": video_id}
    variant = media.variant_for(video_id)
    base = f"users/{account.user_id}/generated/{video_id}"
    video_url = store(state, account=account, asset_id=video_id, path=f"{base}/generated_video.mp4",
                      mime="video/mp4", data=partial(media.mp4_video, variant))
    thumb = store(state, account=account, asset_id=video_id + "-preview", listed=False,
                  path=f"{base}/preview_image.jpg", mime="image/jpeg",
                  data=partial(media.preview_jpeg, variant))
    common = {"videoId": video_id, "videoPostId": post_id,
              "parentPostId": config.get("parentPostId"),
              "resolutionName": config.get("resolutionName"), "moderated": False}
    out = []
    for step in VIDEO_STEPS:
        event: dict[str, Any] = {**common, "progress": step}
        if step == 100:
            event.update(moderated=moderated, thumbnailImageUrl=thumb, assetId=video_id)
            if not moderated:
                event["videoUrl"] = video_url
        out.append(frames.response({"streamingVideoGenerationResponse": event,
                                    "responseId": response_id, "isThinking": False}))
    errors = ["video moderated"] if moderated else []
    text = "" if moderated else "Your video is ready."
    out.append(frames.token(text, response_id=response_id, thinking=False, tag="final", step=1,
                            first=True))
    out.extend([
        frames.model_response(response_id=response_id, parent_response_id=parent_id,
                              message=text, file_attachments=[post_id], stream_errors=errors),
        frames.soft_stop(response_id=response_id),
        frames.final_metadata(response_id=response_id),
    ])
    return out
