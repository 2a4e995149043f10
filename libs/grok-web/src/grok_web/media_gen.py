"""Bodies of the August 2026 media generation: image edit (§12, HEAD row) and
text-to-video (§13.2, HEAD bullet) as REST app-chat requests that carry ``mediaGenInput``.

No media post is created and no ``modelMap`` override is sent; uploaded files are named by
their ``fileMetadataId`` rather than by asset URL. Each edit request makes one image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grok_web import errors

EDIT_MODEL = "imagine-image-edit"
VIDEO_MODEL = "imagine-video-gen"
MAX_EDIT_REFERENCES = 8
MAX_VIDEO_SECONDS = 15


def edit_body(
    *, prompt: str, input_assets: Sequence[str], aspect_ratio: str = ""
) -> dict[str, Any]:
    """One image edit of the uploaded ``input_assets`` (fileMetadataIds, 1-8)."""
    image_to_image: dict[str, Any] = {
        "prompt": prompt,
        "inputAssets": list(input_assets[:MAX_EDIT_REFERENCES]),
    }
    if aspect_ratio:
        image_to_image["aspectRatio"] = aspect_ratio
    return {
        "modelName": EDIT_MODEL,
        "message": prompt,
        "enableImageStreaming": True,
        "enableSideBySide": True,
        "sendFinalMetadata": True,
        "mediaGenInput": {"imageToImage": image_to_image},
    }


def video_body(
    *, prompt: str, mode_flag: str, aspect_ratio: str, duration: int, resolution: str
) -> dict[str, Any]:
    """One text-to-video request of ``duration`` seconds (1-15)."""
    if not 1 <= duration <= MAX_VIDEO_SECONDS:
        raise errors.UsageError(
            f"mediaGenInput videos last 1-{MAX_VIDEO_SECONDS} s, not {duration}"
        )
    return {
        "modelName": VIDEO_MODEL,
        "message": f"{prompt} {mode_flag}",
        "enableImageStreaming": True,
        "enableSideBySide": True,
        "sendFinalMetadata": True,
        # HEAD still sends the empty override the February generation filled in
        "responseMetadata": {"experiments": [], "modelConfigOverride": {"modelMap": {}}},
        "mediaGenInput": {
            "textToVideo": {
                "prompt": prompt,
                "aspectRatio": aspect_ratio,
                "duration": duration,
                "resolutionName": resolution,
            }
        },
        "kind": "CONVERSATION_KIND_IMAGINE",
    }
