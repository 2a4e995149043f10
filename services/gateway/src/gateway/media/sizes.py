"""OpenAI sizes and durations → what the upstream generates (five ratios, two resolutions).

Images (the original project's mapping, README *Image generation*)::

    1024x576  1280x720  1536x864            → 16:9
    576x1024  720x1280  864x1536            → 9:16
    1024x1024 512x512                       → 1:1
    1024x1536 512x768   768x1024            → 2:3
    1536x1024 768x512   1024x768            → 3:2
    a ratio itself ("16:9", ...)            → that ratio
    "auto", empty or absent                 → 2:3 (generation) / the source's (edit)

Videos (``POST /v1/videos``)::

    720x1280  1024x1792 → 9:16 720p     1280x720  1792x1024 → 16:9 720p
    480x854             → 9:16 480p     854x480             → 16:9 480p
    720x720             → 1:1  720p     480x480             → 1:1  480p
    720x1080            → 2:3  720p     480x720             → 2:3  480p
    1080x720            → 3:2  720p     720x480             → 3:2  480p
    absent                                → 720x1280 (OpenAI's default)

    seconds 6, 10, 15 as given; OpenAI's 4, 8, 12 → 6, 10, 15 (the next length the
    upstream makes); absent → 6.
"""

from __future__ import annotations

from grok2api_media.jobs import ASPECT_RATIOS, VIDEO_LENGTHS

from .. import errors

DEFAULT_IMAGE_RATIO = "2:3"

IMAGE_SIZES: dict[str, str] = {
    "1024x576": "16:9", "1280x720": "16:9", "1536x864": "16:9",
    "576x1024": "9:16", "720x1280": "9:16", "864x1536": "9:16",
    "1024x1024": "1:1", "512x512": "1:1",
    "1024x1536": "2:3", "512x768": "2:3", "768x1024": "2:3",
    "1536x1024": "3:2", "768x512": "3:2", "1024x768": "3:2",
}  # fmt: skip

# (ratio, resolution) → the size a Video object reports; the reverse is what /v1/videos takes.
VIDEO_SIZES: dict[tuple[str, str], str] = {
    ("9:16", "720p"): "720x1280", ("16:9", "720p"): "1280x720",
    ("9:16", "480p"): "480x854", ("16:9", "480p"): "854x480",
    ("1:1", "720p"): "720x720", ("1:1", "480p"): "480x480",
    ("2:3", "720p"): "720x1080", ("2:3", "480p"): "480x720",
    ("3:2", "720p"): "1080x720", ("3:2", "480p"): "720x480",
}  # fmt: skip
VIDEO_SIZE_ALIASES: dict[str, tuple[str, str]] = {
    "1024x1792": ("9:16", "720p"),
    "1792x1024": ("16:9", "720p"),
}
_VIDEO_BY_SIZE: dict[str, tuple[str, str]] = {
    **{size: key for key, size in VIDEO_SIZES.items()},
    **VIDEO_SIZE_ALIASES,
}
DEFAULT_VIDEO_SIZE = "720x1280"

OPENAI_SECONDS: dict[int, int] = {4: 6, 8: 10, 12: 15}
DEFAULT_VIDEO_SECONDS = 6


def image_ratio(size: str | None, *, param: str = "size", default: str | None) -> str | None:
    """The aspect ratio for an image ``size``; ``default`` for auto/absent."""
    value = (size or "").strip().lower()
    if value in ("", "auto"):
        return default
    if value in ASPECT_RATIOS:
        return value
    ratio = IMAGE_SIZES.get(value)
    if ratio is None:
        accepted = ", ".join([*IMAGE_SIZES, *ASPECT_RATIOS, "auto"])
        raise errors.InvalidRequest(
            f"Invalid value for '{param}': {size!r}. Accepted: {accepted}.", param=param
        )
    return ratio


def video_size(size: str | None, *, param: str = "size") -> tuple[str, str, str]:
    """(ratio, resolution, the size to report) for a /v1/videos ``size``."""
    value = (size or DEFAULT_VIDEO_SIZE).strip().lower()
    key = _VIDEO_BY_SIZE.get(value)
    if key is None:
        accepted = ", ".join(_VIDEO_BY_SIZE)
        raise errors.InvalidRequest(
            f"Invalid value for '{param}': {size!r}. Accepted: {accepted}.", param=param
        )
    return key[0], key[1], value


def size_of_video(ratio: str, resolution: str) -> str:
    return VIDEO_SIZES.get((ratio, resolution), "")


def video_seconds(value: object, *, param: str = "seconds") -> int:
    """Seconds as the upstream makes them, from an int or a numeric string."""
    if value is None or value == "":
        return DEFAULT_VIDEO_SECONDS
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _bad_seconds(value, param)
    try:
        seconds = int(str(value).strip())
    except ValueError:
        raise _bad_seconds(value, param) from None
    seconds = OPENAI_SECONDS.get(seconds, seconds)
    if seconds not in VIDEO_LENGTHS:
        raise _bad_seconds(value, param)
    return seconds


def _bad_seconds(value: object, param: str) -> errors.InvalidRequest:
    accepted = ", ".join(str(s) for s in (*VIDEO_LENGTHS, *OPENAI_SECONDS))
    return errors.InvalidRequest(
        f"Invalid value for '{param}': {value!r}. Accepted: {accepted} "
        "(4, 8 and 12 become 6, 10 and 15).",
        param=param,
    )
