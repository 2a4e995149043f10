"""The media endpoints' parameters, validated: every refusal is a 400 naming its ``param``.

Values come from ``forms.Form`` (JSON values, or multipart text where ``"2"`` means 2 and
``"true"`` means true, as OpenAI's SDKs send numbers and booleans in forms). Parameters
OpenAI defines that the upstream has no use for (``quality``, ``style``, ``background``,
``output_format``, ``user``, ...) are accepted and ignored.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from typing import Any, Literal

from grok2api_media.jobs import ASPECT_RATIOS, VIDEO_LENGTHS, VIDEO_PRESETS
from grok_web import catalogue

from .. import errors
from . import forms, sizes

IMAGE_MODEL = "grok-imagine-1.0"
IMAGE_EDIT_MODEL = "grok-imagine-1.0-edit"
VIDEO_MODEL = "grok-imagine-1.0-video"
_OPENAI_VIDEO_MODELS = re.compile(r"^sora-2(-pro)?(-\d{4}-\d{2}-\d{2})?$")

MAX_IMAGES = 10
MAX_STREAM_IMAGES = 2
MAX_EDIT_IMAGES = 5
RESOLUTIONS = ("480p", "720p")

ResponseFormat = Literal["url", "b64_json"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageRequest:
    """``POST /v1/images/generations`` and ``/v1/images/edits`` (``images`` set)."""

    model: str
    prompt: str
    n: int
    ratio: str | None
    size: str
    response_format: ResponseFormat
    stream: bool
    images: tuple[forms.FilePart, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class VideoRequest:
    """``POST /v1/videos`` and the ``video_config`` of a chat completion."""

    model: str
    prompt: str
    seconds: int
    ratio: str
    resolution: str
    size: str
    preset: str
    upscale: bool
    reference: forms.FilePart | None = None
    reference_url: str | None = None


def model(name: object, *, kinds: Collection[str], default: str, param: str = "model") -> str:
    """The catalogue id for ``name``: 404 when unknown, 400 when of another kind."""
    if name is None or name == "":
        return default
    if not isinstance(name, str):
        raise errors.InvalidRequest(f"'{param}' must be a string", param=param)
    if "video" in kinds and _OPENAI_VIDEO_MODELS.match(name):  # OpenAI's names, aliases
        return VIDEO_MODEL
    spec = catalogue.find(name)
    if spec is None:
        raise errors.ModelNotFound(f"The model '{name}' does not exist", param=param)
    if spec.kind not in kinds:
        suited = ", ".join(kinds_models(kinds))
        raise errors.InvalidRequest(
            f"The model '{name}' cannot be used here (a {spec.kind} model); use {suited}.",
            param=param,
        )
    return spec.id


def kinds_models(kinds: Collection[str]) -> list[str]:
    return [spec.id for spec in catalogue.all_models() if spec.kind in kinds]


def prompt(value: object, *, param: str = "prompt") -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidRequest(f"'{param}' is required and must not be empty", param=param)
    return value


def integer(value: object, *, param: str, low: int, high: int, default: int) -> int:
    if value is None or value == "":
        return default
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    if number is None or not low <= number <= high:
        raise errors.InvalidRequest(
            f"Invalid value for '{param}': {value!r}. Expected an integer from {low} to {high}.",
            param=param,
        )
    return number


def boolean(value: object, *, param: str, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise errors.InvalidRequest(
        f"Invalid value for '{param}': {value!r}. Expected true or false.", param=param
    )


def choice(value: object, *, param: str, options: Collection[str], default: str) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value.strip().lower() not in options:
        raise errors.InvalidRequest(
            f"Invalid value for '{param}': {value!r}. Accepted: {', '.join(options)}.",
            param=param,
        )
    return value.strip().lower()


def response_format(value: object, *, image_format: str) -> ResponseFormat:
    """``url`` | ``b64_json`` (``base64``, the original project's name, is b64_json);
    absent → ``app.image_format``."""
    default = "b64_json" if image_format == "base64" else "url"
    chosen = choice(value, param="response_format", options=("url", "b64_json", "base64"),
                    default=default)  # fmt: skip
    return "url" if chosen == "url" else "b64_json"


def image_count(value: object, *, stream: bool) -> int:
    high = MAX_STREAM_IMAGES if stream else MAX_IMAGES
    if stream and isinstance(value, (int, str)) and str(value).strip().isdigit():
        if MAX_STREAM_IMAGES < int(str(value).strip()) <= MAX_IMAGES:
            raise errors.InvalidRequest(
                f"'n' is at most {MAX_STREAM_IMAGES} when streaming", param="n"
            )
    return integer(value, param="n", low=1, high=high, default=1)


def image_generation(form: forms.Form, *, image_format: str) -> ImageRequest:
    stream = boolean(form.value("stream"), param="stream")
    size = form.value("size")
    return ImageRequest(
        model=model(form.value("model"), kinds=("image",), default=IMAGE_MODEL),
        prompt=prompt(form.value("prompt")),
        n=image_count(form.value("n"), stream=stream),
        ratio=sizes.image_ratio(_str(size, "size"), default=sizes.DEFAULT_IMAGE_RATIO),
        size=_str(size, "size") or "auto",
        response_format=response_format(form.value("response_format"), image_format=image_format),
        stream=stream,
    )


def image_edit(form: forms.Form, *, image_format: str, max_bytes: int) -> ImageRequest:
    if form.sent("mask"):
        raise errors.InvalidRequest(
            "'mask' is not supported: the upstream edits the whole image from the prompt.",
            param="mask",
        )
    images = form.files_of("image", "image[]")
    param = "image[]" if "image[]" in form.files else "image"
    if not images:
        if form.sent("image") or form.sent("image[]"):
            raise errors.InvalidRequest("'image' must be a file upload", param=param)
        raise errors.InvalidRequest("'image' is required (1 to 5 image files)", param="image")
    if len(images) > MAX_EDIT_IMAGES:
        raise errors.InvalidRequest(
            f"Too many images: {len(images)}; at most {MAX_EDIT_IMAGES} per edit.", param=param
        )
    for part in images:
        check_image(part.data, param=param, max_bytes=max_bytes, name=part.filename)
    stream = boolean(form.value("stream"), param="stream")
    size = _str(form.value("size"), "size")
    return ImageRequest(
        model=model(form.value("model"), kinds=("image_edit",), default=IMAGE_EDIT_MODEL),
        prompt=prompt(form.value("prompt")),
        n=image_count(form.value("n"), stream=stream),
        ratio=sizes.image_ratio(size, default=None),
        size=size or "auto",
        response_format=response_format(form.value("response_format"), image_format=image_format),
        stream=stream,
        images=tuple(images),
    )


def check_image(data: bytes, *, param: str, max_bytes: int, name: str = "") -> str:
    """The image's type from its bytes: png, jpeg or webp, within ``max_bytes``."""
    label = f"'{param}'" + (f" ({name})" if name else "")
    if not data:
        raise errors.InvalidRequest(f"{label} is empty", param=param)
    if len(data) > max_bytes:
        raise errors.InvalidRequest(
            f"{label} is {len(data)} bytes, over the limit of {max_bytes} bytes "
            "(chat.attachment_max_bytes).",
            param=param,
        )
    kind = forms.sniff_image(data)
    if kind is None:
        raise errors.InvalidRequest(
            f"{label} is not a PNG, JPEG or WebP image.", param=param, code="invalid_image_format"
        )
    return kind


def video_create(form: forms.Form, *, max_bytes: int) -> VideoRequest:
    """``POST /v1/videos``: OpenAI's fields plus ``aspect_ratio``, ``resolution``,
    ``preset`` and ``upscale``, which win over what ``size`` implies."""
    ratio, resolution, size = sizes.video_size(_str(form.value("size"), "size"))
    ratio = choice(form.value("aspect_ratio"), param="aspect_ratio", options=ASPECT_RATIOS,
                   default=ratio)  # fmt: skip
    resolution = choice(form.value("resolution"), param="resolution", options=RESOLUTIONS,
                        default=resolution)  # fmt: skip
    if form.sent("aspect_ratio") or form.sent("resolution"):
        size = sizes.size_of_video(ratio, resolution)
    reference, reference_url = _reference(form, max_bytes=max_bytes)
    return VideoRequest(
        model=model(form.value("model"), kinds=("video",), default=VIDEO_MODEL),
        prompt=prompt(form.value("prompt")),
        seconds=sizes.video_seconds(form.value("seconds")),
        ratio=ratio,
        resolution=resolution,
        size=size,
        preset=choice(
            form.value("preset"), param="preset", options=VIDEO_PRESETS, default="custom"
        ),
        upscale=boolean(form.value("upscale"), param="upscale"),
        reference=reference,
        reference_url=reference_url,
    )


def _reference(form: forms.Form, *, max_bytes: int) -> tuple[forms.FilePart | None, str | None]:
    files = form.files_of("input_reference")
    if len(files) > 1:
        raise errors.InvalidRequest("one 'input_reference' at most", param="input_reference")
    if files:
        check_image(files[0].data, param="input_reference", max_bytes=max_bytes,
                    name=files[0].filename)  # fmt: skip
        return files[0], None
    value = form.value("input_reference")
    if value is None:
        return None, None
    if isinstance(value, Mapping) and isinstance(value.get("image_url"), str):
        return None, value["image_url"]
    raise errors.InvalidRequest(
        "'input_reference' must be an image file, or {\"image_url\": <http(s) or data URL>} "
        "(file ids are not supported)",
        param="input_reference",
    )


def video_config(extra: Mapping[str, Any], *, model_id: str, prompt_: str) -> VideoRequest:
    """The ``video_config`` object of a chat completion for a video model (the original
    project's parameters): ``aspect_ratio``, ``video_length``, ``resolution_name``,
    ``preset``, plus ``upscale``."""
    config = extra.get("video_config")
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise errors.InvalidRequest("'video_config' must be an object", param="video_config")
    ratio = choice(
        config.get("aspect_ratio"), param="video_config.aspect_ratio", options=ASPECT_RATIOS,
        default="3:2",
    )  # fmt: skip
    resolution = choice(
        config.get("resolution_name"), param="video_config.resolution_name",
        options=RESOLUTIONS, default="480p",
    )  # fmt: skip
    length = config.get("video_length")
    if length is not None and (
        isinstance(length, bool) or not isinstance(length, int) or length not in VIDEO_LENGTHS
    ):
        raise errors.InvalidRequest(
            f"Invalid value for 'video_config.video_length': {length!r}. "
            f"Accepted: {', '.join(map(str, VIDEO_LENGTHS))}.",
            param="video_config.video_length",
        )
    return VideoRequest(
        model=model_id,
        prompt=prompt_,
        seconds=length or sizes.DEFAULT_VIDEO_SECONDS,
        ratio=ratio,
        resolution=resolution,
        size=sizes.size_of_video(ratio, resolution),
        preset=choice(
            config.get("preset"), param="video_config.preset", options=VIDEO_PRESETS,
            default="custom",
        ),
        upscale=boolean(config.get("upscale"), param="video_config.upscale"),
    )


def _str(value: object, param: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise errors.InvalidRequest(f"'{param}' must be a string", param=param)
