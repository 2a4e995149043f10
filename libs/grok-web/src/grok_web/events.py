"""Typed events produced by a chat (and media) stream. All are frozen, slotted
dataclasses: cheap to build on the per-token path and safe to share."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal


@dataclasses.dataclass(frozen=True, slots=True)
class ConversationStarted:
    """First frame of a new conversation. ``user_id`` is the account's user id (UUID) when
    this turn had to discover it from ``/api/auth/session`` (an mgw turn called without a
    ``user_id``): store it with the account and pass it to later turns, which then make no
    session call. "" when the caller passed one, and on the REST generation. Not part of
    equality (two starts of one conversation are equal however the id was learnt)."""

    conversation_id: str
    user_id: str = dataclasses.field(default="", compare=False)


@dataclasses.dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of answer text."""

    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of reasoning ("thinking") text; ``rollout_id`` names the agent (heavy)."""

    text: str
    rollout_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ToolUsageCard:
    """A server-side tool invocation (web search, browse page, …)."""

    card_id: str
    tool_name: str
    args: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Citation:
    """An inline citation; ``number`` is its 1-based order of first appearance."""

    url: str
    title: str
    number: int
    card_id: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class SearchResult:
    """One search hit."""

    url: str
    title: str
    snippet: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class SearchResults:
    """Sources a server-side search returned (``kind`` web or x)."""

    kind: Literal["web", "x"]
    results: tuple[SearchResult, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class ImageProgress:
    """An image being generated. ``stage`` is preview/medium (Imagine byte
    thresholds) or progress (chat); ``moderated`` means it will never be final;
    ``data`` is the preview's bytes when the upstream sent them inline (Imagine)."""

    image_id: str
    progress: int
    url: str = ""
    stage: Literal["preview", "medium", "progress"] = "progress"
    moderated: bool = False
    data: bytes | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class ImageFinal:
    """A finished image: a URL (relative asset path or absolute) and/or raw bytes."""

    image_id: str
    url: str = ""
    asset_id: str = ""
    data: bytes | None = dataclasses.field(default=None, repr=False)
    width: int | None = None
    height: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class VideoProgress:
    """A video being generated (``progress`` 0-100)."""

    video_id: str
    progress: int
    moderated: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class VideoFinal:
    """A finished video."""

    video_id: str
    url: str
    post_id: str = ""
    thumbnail_url: str = ""
    resolution: str = ""
    asset_id: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class StreamError:
    """A non-fatal error reported inside the final envelope (``streamErrors``)."""

    message: str
    code: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Final:
    """The end of a turn: ids, the full answer text (streamed text merged with
    ``modelResponse.message``), generated image URLs and file attachments."""

    response_id: str
    message: str
    conversation_id: str = ""
    parent_response_id: str = ""
    generated_image_urls: tuple[str, ...] = ()
    file_attachments: tuple[str, ...] = ()
    model_hash: str = ""
    stream_errors: tuple[StreamError, ...] = ()


ChatEvent = (
    ConversationStarted
    | TextDelta
    | ReasoningDelta
    | ToolUsageCard
    | Citation
    | SearchResults
    | ImageProgress
    | ImageFinal
    | VideoProgress
    | VideoFinal
    | StreamError
    | Final
)
