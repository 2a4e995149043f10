"""Validation of `POST /rest/app-chat/conversations/new` bodies (grok-protocol.md §3.1, §12, §13).

Three request kinds are accepted, each held to the v2.x shape:
- chat: `modeId` in auto|fast|expert|heavy, no `modelName`/`modelMode`;
- image edit: `modelName:"imagine-image-edit"` with `modelMap.imageEditModel` and
  `imageEditModelConfig.imageReferences` (+ `parentPostId`);
- video: `modelName:"grok-3"`, `toolOverrides.videoGen:true` and
  `modelMap.videoGenModelConfig` {parentPostId, aspectRatio, videoLength, resolutionName}.

A body with `mediaGenInput` is one of the HEAD-generation (August 2026) media bodies
(§12 HEAD row, §13.2 HEAD bullet), answered with the same frames as the older ones:
- image edit: `modelName:"imagine-image-edit"`, `message`,
  `mediaGenInput.imageToImage {prompt, inputAssets: [fileMetadataId…], aspectRatio?}`;
- video: `modelName:"imagine-video-gen"`, `message`, `kind:"CONVERSATION_KIND_IMAGINE"`,
  `mediaGenInput.textToVideo {prompt, aspectRatio, duration 1-15, resolutionName}`.
Neither needs `temporary` or a media post; an edit makes one image and its `inputAssets`
must be files the account uploaded (checked by the route).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import responses

CHAT_MODES = ("auto", "fast", "expert", "heavy")
CHAT_REQUIRED: Mapping[str, type | tuple[type, ...]] = {
    "message": str,
    "modeId": str,
    "temporary": bool,
    "fileAttachments": list,
    "sendFinalMetadata": bool,
}
MEDIA_REQUIRED: Mapping[str, type | tuple[type, ...]] = {
    "message": str,
    "modelName": str,
    "temporary": bool,
}
VIDEO_CONFIG_KEYS = ("parentPostId", "aspectRatio", "videoLength", "resolutionName")


@dataclass(frozen=True, kw_only=True)
class ChatRequest:
    """A validated app-chat request. `kind` is chat, image_edit or video."""

    kind: str
    mode: str
    message: str
    temporary: bool
    image_count: int
    image_generation: bool
    file_attachments: tuple[str, ...]
    video_config: Mapping[str, Any] | None = None
    edit_references: tuple[str, ...] = ()
    input_assets: tuple[str, ...] = ()  # mediaGenInput: fileMetadataIds of uploaded files


def parse(body: Any) -> ChatRequest:
    """Classify and validate; raise a 400 naming every missing or invalid field."""
    if not isinstance(body, dict):
        raise responses.bad_request("body must be a JSON object")
    if "mediaGenInput" in body:
        return _media_gen(body)
    if "modeId" in body or "modelName" not in body:
        return _chat(body)
    if body.get("modelName") == "imagine-image-edit":
        return _image_edit(body)
    if (body.get("toolOverrides") or {}).get("videoGen") is True:
        return _video(body)
    raise responses.bad_request(
        "unsupported request: chat needs modeId; media needs modelName imagine-image-edit or "
        "toolOverrides.videoGen with modelName grok-3"
    )


def _problems(body: Mapping[str, Any], required: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, kind in required.items():
        if name not in body:
            problems.append(f"{name} (missing)")
        elif not isinstance(body[name], kind):
            problems.append(f"{name} (wrong type)")
    return problems


def _raise(problems: list[str]) -> None:
    if problems:
        raise responses.bad_request("missing or invalid body fields: " + ", ".join(problems))


def _chat(body: Mapping[str, Any]) -> ChatRequest:
    problems = _problems(body, CHAT_REQUIRED)
    if isinstance(body.get("modeId"), str) and body["modeId"] not in CHAT_MODES:
        problems.append(f"modeId (one of {', '.join(CHAT_MODES)})")
    for legacy in ("modelName", "modelMode"):
        if legacy in body:
            problems.append(f"{legacy} (must not be sent with modeId)")
    _raise(problems)
    return ChatRequest(
        kind="chat",
        mode=body["modeId"],
        message=body["message"],
        temporary=body["temporary"],
        image_count=_image_count(body),
        image_generation=bool(body.get("enableImageGeneration", False)),
        file_attachments=tuple(str(f) for f in body["fileAttachments"]),
    )


def _model_map(body: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = body.get("responseMetadata")
    override = metadata.get("modelConfigOverride") if isinstance(metadata, dict) else None
    model_map = override.get("modelMap") if isinstance(override, dict) else None
    return model_map if isinstance(model_map, dict) else {}


def _image_edit(body: Mapping[str, Any]) -> ChatRequest:
    problems = _problems(body, MEDIA_REQUIRED)
    model_map = _model_map(body)
    config = model_map.get("imageEditModelConfig")
    if not model_map.get("imageEditModel"):
        problems.append("responseMetadata.modelConfigOverride.modelMap.imageEditModel (missing)")
    references = config.get("imageReferences") if isinstance(config, dict) else None
    if not isinstance(references, list) or not references:
        problems.append("modelMap.imageEditModelConfig.imageReferences (non-empty list)")
    if not isinstance(config, dict) or not config.get("parentPostId"):
        problems.append("modelMap.imageEditModelConfig.parentPostId (missing)")
    _raise(problems)
    return ChatRequest(
        kind="image_edit",
        mode="auto",
        message=body["message"],
        temporary=body["temporary"],
        image_count=_image_count(body),
        image_generation=True,
        file_attachments=tuple(str(f) for f in body.get("fileAttachments") or ()),
        edit_references=tuple(str(r) for r in references or ()),
        video_config={"parentPostId": config["parentPostId"]} if isinstance(config, dict) else None,
    )


def _video(body: Mapping[str, Any]) -> ChatRequest:
    problems = _problems(body, MEDIA_REQUIRED)
    if body.get("modelName") != "grok-3":
        problems.append("modelName (grok-3 for video)")
    config = _model_map(body).get("videoGenModelConfig")
    if not isinstance(config, dict):
        problems.append(
            "responseMetadata.modelConfigOverride.modelMap.videoGenModelConfig (missing)"
        )
        config = {}
    for key in VIDEO_CONFIG_KEYS:
        if key not in config:
            problems.append(f"videoGenModelConfig.{key} (missing)")
    _raise(problems)
    return ChatRequest(
        kind="video",
        mode="auto",
        message=body["message"],
        temporary=body["temporary"],
        image_count=0,
        image_generation=False,
        file_attachments=tuple(str(f) for f in body.get("fileAttachments") or ()),
        video_config=dict(config),
    )


def _media_gen(body: Mapping[str, Any]) -> ChatRequest:
    """The HEAD `mediaGenInput` bodies: imageToImage (edit) and textToVideo (video)."""
    media = body.get("mediaGenInput")
    media = media if isinstance(media, dict) else {}
    problems = [f"{name} (missing)" for name in ("message", "modelName")
                if not isinstance(body.get(name), str)]
    model = body.get("modelName")
    if model == "imagine-image-edit":
        edit = media.get("imageToImage")
        edit = edit if isinstance(edit, dict) else {}
        assets = edit.get("inputAssets")
        if not isinstance(edit.get("prompt"), str) or not edit.get("prompt"):
            problems.append("mediaGenInput.imageToImage.prompt (missing)")
        if not isinstance(assets, list) or not assets or not all(
            isinstance(a, str) and a for a in assets
        ):
            problems.append("mediaGenInput.imageToImage.inputAssets (non-empty list of ids)")
        if "aspectRatio" in edit and not isinstance(edit["aspectRatio"], str):
            problems.append("mediaGenInput.imageToImage.aspectRatio (string)")
        _raise(problems)
        return ChatRequest(
            # §12 HEAD: one image per request (the body carries no imageGenerationCount)
            kind="image_edit", mode="auto", message=body["message"], temporary=True,
            image_count=1, image_generation=True,
            file_attachments=tuple(str(f) for f in body.get("fileAttachments") or ()),
            edit_references=tuple(assets or ()), input_assets=tuple(assets or ()),
        )
    if model == "imagine-video-gen":
        video = media.get("textToVideo")
        video = video if isinstance(video, dict) else {}
        if body.get("kind") != "CONVERSATION_KIND_IMAGINE":
            problems.append("kind (CONVERSATION_KIND_IMAGINE)")
        for name in ("prompt", "aspectRatio", "resolutionName"):
            if not isinstance(video.get(name), str) or not video.get(name):
                problems.append(f"mediaGenInput.textToVideo.{name} (missing)")
        duration = video.get("duration")
        if not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= 15:
            problems.append("mediaGenInput.textToVideo.duration (1-15)")
        _raise(problems)
        return ChatRequest(
            kind="video", mode="auto", message=body["message"], temporary=True, image_count=0,
            image_generation=False, file_attachments=(),
            video_config={"aspectRatio": video["aspectRatio"], "videoLength": duration,
                          "resolutionName": video["resolutionName"], "parentPostId": None},
        )
    problems.append("modelName (imagine-image-edit or imagine-video-gen with mediaGenInput)")
    _raise(problems)
    raise AssertionError("unreachable")


def _image_count(body: Mapping[str, Any]) -> int:
    count = body.get("imageGenerationCount", 2)
    return count if isinstance(count, int) and 1 <= count <= 10 else 2
