"""The media job schema: what the gateway submits and what a worker answers.

A job travels as JSON through ``grok2api_jobs``: ``kind`` is one of the ``KIND_*``
constants, ``payload`` the ``model_dump()`` of its request model. A worker publishes
``Progress`` events while it runs and ends with the result model's ``model_dump()``.
Files are never inlined: they are ``MediaFile`` references into the blob store, which
the gateway and the workers share (a directory under DATA_DIR, a shared volume on
Kubernetes).

Every request model has ``account_tags``: empty, the job may lease any account; else the
worker leases only accounts carrying at least one of them, for every attempt of the job
(``PoolClient.acquire(account_tags=...)``): a job submitted for a client key bound to a
team's tags spends only that team's accounts. A worker older than this field ignores it
(``extra="ignore"``) and leases any account: upgrade the workers before the gateways.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

KIND_IMAGE = "image.generate"
KIND_IMAGE_EDIT = "image.edit"
KIND_VIDEO = "video.generate"
KINDS = (KIND_IMAGE, KIND_IMAGE_EDIT, KIND_VIDEO)

BlobKind = Literal["image", "video", "upload"]
Resolution = Literal["480p", "720p"]

# The five aspect ratios the upstream generates (protocol §11.3, §13.2).
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "16:9", "9:16")
VIDEO_LENGTHS = (6, 10, 15)
VIDEO_PRESETS = ("fun", "normal", "spicy", "custom")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class MediaFile(_Model):
    """A file in the blob store: ``/v1/files/<kind>/<id>`` on every gateway."""

    kind: BlobKind
    id: str
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None


class ImageJob(_Model):
    """``n`` images of ``prompt``; ``partials``: also publish preview images."""

    model: str
    prompt: str
    n: int = Field(1, ge=1, le=10)
    aspect_ratio: str = "2:3"
    partials: bool = False
    account_tags: tuple[str, ...] = ()


class ImageEditJob(_Model):
    """``n`` edits of the reference ``images`` (uploads in the blob store) after ``prompt``."""

    model: str
    prompt: str
    images: tuple[MediaFile, ...]
    n: int = Field(1, ge=1, le=10)
    aspect_ratio: str | None = None
    account_tags: tuple[str, ...] = ()


class VideoJob(_Model):
    """One video. ``image``: an optional reference image (an upload in the blob store);
    ``upscale``: ask the upstream for the HD version once generated."""

    model: str
    prompt: str
    aspect_ratio: str = "3:2"
    seconds: int = 6
    resolution: Resolution = "480p"
    preset: str = "custom"
    image: MediaFile | None = None
    upscale: bool = False
    account_tags: tuple[str, ...] = ()


class Progress(_Model):
    """One progress event. ``progress`` 0-100 for the whole job; ``stage`` names the step
    (``queued``, ``started``, ``generating``, ``downloading``, ``upscaling``); ``partial``
    is a preview image (image jobs that asked for partials) with its ``index``."""

    progress: int = Field(ge=0, le=100)
    stage: str
    index: int | None = None
    partial: MediaFile | None = None
    attempt: int = 1


class ImageResult(_Model):
    """The final images (never previews), at most ``n`` of them."""

    images: tuple[MediaFile, ...]


class VideoResult(_Model):
    video: MediaFile
    thumbnail: MediaFile | None = None
    resolution: str = ""
    seconds: int = 0
    upscaled: bool = False
