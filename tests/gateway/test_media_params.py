"""Media parameters: sizes → ratios, video sizes and lengths, multipart parsing, image types."""

from __future__ import annotations

import io
from typing import Any

import httpx2
import pytest
from gateway import errors
from gateway.media import forms, params, sizes
from PIL import Image


def _image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format=fmt)
    return buffer.getvalue()


def png() -> bytes:
    return _image("PNG")


def jpeg() -> bytes:
    return _image("JPEG")


@pytest.mark.parametrize(
    ("size", "ratio"),
    [
        ("1024x576", "16:9"), ("1280x720", "16:9"), ("1536x864", "16:9"),
        ("576x1024", "9:16"), ("720x1280", "9:16"), ("864x1536", "9:16"),
        ("1024x1024", "1:1"), ("512x512", "1:1"),
        ("1024x1536", "2:3"), ("512x768", "2:3"), ("768x1024", "2:3"),
        ("1536x1024", "3:2"), ("768x512", "3:2"), ("1024x768", "3:2"),
        ("16:9", "16:9"), ("1:1", "1:1"), ("auto", "2:3"), (None, "2:3"), ("", "2:3"),
    ],
)  # fmt: skip
def test_image_sizes_map_to_the_five_ratios(size: str | None, ratio: str) -> None:
    assert sizes.image_ratio(size, default="2:3") == ratio


def test_an_unknown_image_size_is_a_400_naming_the_accepted_values() -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        sizes.image_ratio("256x256", default="2:3")
    assert caught.value.param == "size"
    assert "1024x576" in caught.value.message and "3:2" in caught.value.message


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (None, ("9:16", "720p", "720x1280")),
        ("1280x720", ("16:9", "720p", "1280x720")),
        ("1024x1792", ("9:16", "720p", "1024x1792")),
        ("1792x1024", ("16:9", "720p", "1792x1024")),
        ("480x854", ("9:16", "480p", "480x854")),
        ("854x480", ("16:9", "480p", "854x480")),
        ("720x720", ("1:1", "720p", "720x720")),
    ],
)
def test_video_sizes(size: str | None, expected: tuple[str, str, str]) -> None:
    assert sizes.video_size(size) == expected


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, 6), ("4", 6), (8, 10), ("12", 15), (6, 6), ("10", 10), (15, 15)],
)
def test_video_seconds_map_openai_lengths_up(value: Any, seconds: int) -> None:
    assert sizes.video_seconds(value) == seconds


@pytest.mark.parametrize("value", ["5", 20, "x", True, 4.0])
def test_other_video_lengths_are_refused(value: Any) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        sizes.video_seconds(value)
    assert caught.value.param == "seconds"


def _multipart(data: dict[str, Any], files: list[tuple[str, tuple[str, bytes, str]]]) -> tuple[
    bytes, str
]:
    request = httpx2.Request("POST", "http://x/", data=data, files=files)
    return request.read(), request.headers["content-type"]


def test_multipart_fields_and_repeated_files() -> None:
    body, ctype = _multipart(
        {"prompt": "make it blue", "n": "2", "stream": "false"},
        [("image[]", ("a.png", png(), "image/png")), ("image[]", ("b.jpg", jpeg(), "image/jpeg"))],
    )
    form = forms.parse(body, ctype, json_ok=False)
    assert form.value("prompt") == "make it blue"
    assert [part.filename for part in form.files_of("image", "image[]")] == ["a.png", "b.jpg"]
    parsed = params.image_edit(form, image_format="url", max_bytes=10_000)
    assert parsed.n == 2 and not parsed.stream and len(parsed.images) == 2


def test_a_truncated_multipart_body_is_a_400() -> None:
    body, ctype = _multipart({"prompt": "x"}, [("image", ("a.png", png(), "image/png"))])
    with pytest.raises(errors.InvalidRequest):
        forms.parse(body[:-30], ctype, json_ok=False)


def test_json_is_refused_where_only_forms_are_accepted() -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        forms.parse(b"{}", "application/json", json_ok=False)
    assert caught.value.code == "unsupported_media_type"


def test_image_types_are_told_by_their_bytes() -> None:
    assert forms.sniff_image(png()) == "image/png"
    assert forms.sniff_image(jpeg()) == "image/jpeg"
    assert forms.sniff_image(b"RIFF\x10\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert forms.sniff_image(b"GIF89a....") is None


def test_video_config_names_each_bad_field() -> None:
    for config, param in [
        ({"aspect_ratio": "4:3"}, "video_config.aspect_ratio"),
        ({"video_length": 7}, "video_config.video_length"),
        ({"resolution_name": "1080p"}, "video_config.resolution_name"),
        ({"preset": "wild"}, "video_config.preset"),
        ({"upscale": "maybe"}, "video_config.upscale"),
    ]:
        with pytest.raises(errors.InvalidRequest) as caught:
            params.video_config({"video_config": config}, model_id="m", prompt_="p")
        assert caught.value.param == param
    video = params.video_config(
        {"video_config": {"aspect_ratio": "16:9", "video_length": 10, "resolution_name": "720p",
                          "preset": "spicy"}}, model_id="m", prompt_="p")  # fmt: skip
    assert (video.ratio, video.seconds, video.resolution, video.preset, video.size) == (
        "16:9", 10, "720p", "spicy", "1280x720"
    )


def test_openai_video_model_names_are_aliases() -> None:
    for name in ("sora-2", "sora-2-pro", "sora-2-2025-10-06", None):
        assert params.model(name, kinds=("video",), default=params.VIDEO_MODEL) == (
            params.VIDEO_MODEL
        )
    with pytest.raises(errors.ModelNotFound):
        params.model("dall-e-3", kinds=("image",), default=params.IMAGE_MODEL)
    with pytest.raises(errors.InvalidRequest):
        params.model("grok-4", kinds=("image",), default=params.IMAGE_MODEL)
