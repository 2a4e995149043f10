"""Decoded app-chat frames → typed events (protocol §4.2, §5, §11.1, §13.3).

:class:`ChatStreamParser` keeps the state of one turn (ids, streamed text, the
``modelResponse`` envelope) and appends events to a caller-supplied list, so the
per-token path allocates one event and nothing else. Fatal in-band errors are
raised as :mod:`grok_web.errors` exceptions; ``streamErrors`` entries become
:class:`~grok_web.events.StreamError` events.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from grok_web import errors, translate
from grok_web import events as ev

_TOOL_NAME = re.compile(r"<xai:tool_name>(.*?)</xai:tool_name>", re.S)
_TOOL_ARGS = re.compile(r"<xai:tool_args><!\[CDATA\[(.*?)\]\]></xai:tool_args>", re.S)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_TextDelta = ev.TextDelta
_ReasoningDelta = ev.ReasoningDelta
# The keys of a plain token frame (§4.2), none of which needs a handler but ``responseId``.
_TOKEN_FRAME_KEYS = frozenset(
    {"token", "isThinking", "isSoftStop", "messageTag", "rolloutId", "messageStepId",
     "responseId"}
)
_TEXT_TAGS = frozenset({"final", ""})
_CITATION_TYPES = frozenset({"render_inline_citation", "citation_card", "inline_citation"})


class ChatStreamParser:
    """One turn's state. Call :meth:`handle` per frame, then :meth:`finish`."""

    __slots__ = (
        "_citations",
        "_content",
        "_envelope",
        "_final_images",
        "_final_videos",
        "_secrets",
        "_stream_errors",
        "_text",
        "_titles",
        "conversation_id",
        "model_hash",
        "parent_response_id",
        "response_id",
    )

    def __init__(self, *, secrets: tuple[str, ...] = ()) -> None:
        self._secrets = secrets
        self.conversation_id = ""
        self.response_id = ""
        self.parent_response_id = ""
        self.model_hash = ""
        self._text: list[str] = []
        self._content = False
        self._envelope: Mapping[str, Any] | None = None
        self._stream_errors: list[ev.StreamError] = []
        self._titles: dict[str, str] = {}
        self._citations: dict[str, int] = {}
        self._final_images: set[str] = set()
        self._final_videos: set[str] = set()

    def handle(self, frame: Mapping[str, Any], out: list[Any]) -> None:
        """Append the events of one frame to ``out``; raise on a fatal in-band error."""
        result = frame.get("result")
        if result is None:
            error = frame.get("error")
            if error is not None:
                raise translate.from_inband(error, secrets=self._secrets)
            return
        response = result.get("response")
        if response is None:
            conversation = result.get("conversation")
            if conversation and conversation.get("conversationId"):
                self.conversation_id = str(conversation["conversationId"])
                out.append(ev.ConversationStarted(self.conversation_id))
            return
        token = response.get("token")
        tag = response.get("messageTag")
        if tag == "tool_usage_card":
            self._tool_card(response, token, out)
        elif token and type(token) is str:
            if response.get("isThinking"):
                out.append(_ReasoningDelta(token, response.get("rolloutId")))
                self._content = True
            elif tag is None or tag in _TEXT_TAGS:
                self._text.append(token)
                out.append(_TextDelta(token))
                self._content = True
        # Plain token frames (the hot path) carry only these keys: skip the dispatch.
        if token is None or not response.keys() <= _TOKEN_FRAME_KEYS:
            for key in response:
                handler = _HANDLERS.get(key)
                if handler is not None:
                    handler(self, response[key], out)
        elif not self.response_id:
            self._on_response_id(response.get("responseId"), out)

    def handle_all(self, frames: Iterable[Mapping[str, Any]], out: list[Any]) -> None:
        """``handle`` each frame; a frame whose nested fields have unexpected types (a list
        where an object belongs, …) raises ``MalformedResponse`` like any unparsable body."""
        handle = self.handle
        try:
            for frame in frames:
                handle(frame, out)
        except (AttributeError, TypeError, ValueError) as exc:
            raise translate.malformed("unexpected chat frame shape", exc=exc) from exc

    def finish(self) -> ev.Final:
        """The closing envelope; raises when the turn produced nothing usable."""
        envelope = self._envelope or {}
        if not self._content:
            if self._stream_errors:
                first = self._stream_errors[0]
                raise translate.from_inband(
                    {"code": first.code, "message": first.message}, secrets=self._secrets
                )
            raise errors.EmptyStream("upstream stream ended without content")
        return ev.Final(
            response_id=self.response_id,
            message="".join(self._text),
            conversation_id=self.conversation_id,
            parent_response_id=self.parent_response_id,
            generated_image_urls=tuple(_strings(envelope.get("generatedImageUrls"))),
            file_attachments=tuple(_strings(envelope.get("fileAttachments"))),
            model_hash=self.model_hash,
            stream_errors=tuple(self._stream_errors),
        )

    @property
    def text(self) -> str:
        """The answer text streamed so far."""
        return "".join(self._text)

    def card(self, value: Any, out: list[Any]) -> None:
        """One card attachment (a JSON string, ``{"jsonData": …}`` or the card object), as
        the REST path reads it: ``image_chunk`` → image events, inline citations → a
        numbered :class:`~grok_web.events.Citation` (shared by the mgw parser)."""
        self._on_card(value, out)

    def citation(self, url: str, card_id: str, out: list[Any]) -> None:
        """A :class:`~grok_web.events.Citation` numbered by first appearance of ``url``."""
        self._citation(url, card_id, out)

    def remember_title(self, url: str, title: str) -> None:
        """The title later citations of ``url`` carry (the first one seen wins)."""
        self._titles.setdefault(url, title)

    def _tool_card(self, response: Mapping[str, Any], token: Any, out: list[Any]) -> None:
        card = response.get("toolUsageCard")
        if isinstance(card, Mapping):
            card_id = str(card.get("toolUsageCardId") or response.get("toolUsageCardId") or "")
            for key, value in card.items():
                if key == "toolUsageCardId" or not isinstance(value, Mapping):
                    continue
                args = value.get("args")
                name = _CAMEL.sub("_", key).lower()
                out.append(
                    ev.ToolUsageCard(card_id, name, args if isinstance(args, Mapping) else {})
                )
                self._content = True
                return
        if isinstance(token, str) and "<xai:tool_name>" in token:
            name_match = _TOOL_NAME.search(token)
            args_match = _TOOL_ARGS.search(token)
            parsed: Any = {}
            if args_match:
                try:
                    parsed = orjson.loads(args_match.group(1))
                except orjson.JSONDecodeError:
                    parsed = {"raw": args_match.group(1)}
            name = name_match.group(1).strip() if name_match else ""
            card_id = str(response.get("toolUsageCardId") or "")
            out.append(
                ev.ToolUsageCard(card_id, name, parsed if isinstance(parsed, Mapping) else {})
            )
            self._content = True

    def _on_response_id(self, value: Any, out: list[Any]) -> None:
        if value:
            self.response_id = str(value)

    def _on_llm_info(self, value: Any, out: list[Any]) -> None:
        if isinstance(value, Mapping) and value.get("modelHash"):
            self.model_hash = str(value["modelHash"])

    def _on_model_response(self, value: Any, out: list[Any]) -> None:
        if not isinstance(value, Mapping):
            return
        self._envelope = value
        self._on_response_id(value.get("responseId"), out)
        if value.get("parentResponseId"):
            self.parent_response_id = str(value["parentResponseId"])
        llm = (value.get("metadata") or {}).get("llm_info")
        self._on_llm_info(llm, out)
        message = value.get("message")
        if isinstance(message, str) and message:
            streamed = self.text
            # HEAD rule: the envelope only completes a streamed prefix; if they
            # disagree, what the client already saw wins.
            if len(message) > len(streamed) and message.startswith(streamed):
                suffix = message[len(streamed) :]
                self._text.append(suffix)
                out.append(ev.TextDelta(suffix))
            self._content = True
        if value.get("generatedImageUrls") or value.get("fileAttachments"):
            self._content = True
        for item in value.get("streamErrors") or ():
            code, message_text = _error_parts(item)
            error = ev.StreamError(message_text, code)
            self._stream_errors.append(error)
            out.append(error)

    def _on_card(self, value: Any, out: list[Any]) -> None:
        raw = value.get("jsonData", value) if isinstance(value, Mapping) else value
        if isinstance(raw, str | bytes):
            try:
                raw = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return
        if not isinstance(raw, Mapping):
            return
        chunk = raw.get("image_chunk") or raw.get("imageChunk")
        if isinstance(chunk, Mapping):
            self._image(chunk, str(chunk.get("imageUuid") or raw.get("id") or ""), out)
            return
        kinds = {str(raw.get("type", "")), str(raw.get("cardType", ""))}
        url = raw.get("url")
        if url and kinds & _CITATION_TYPES:
            self._citation(str(url), str(raw.get("id") or ""), out)

    def _on_cards(self, value: Any, out: list[Any]) -> None:
        for card in value or ():
            self._on_card(card, out)

    def _citation(self, url: str, card_id: str, out: list[Any]) -> None:
        number = self._citations.get(url)
        if number is None:
            number = self._citations[url] = len(self._citations) + 1
        out.append(ev.Citation(url, self._titles.get(url, ""), number, card_id))

    def _on_image(self, value: Any, out: list[Any]) -> None:
        if isinstance(value, Mapping):
            self._image(value, str(value.get("imageIndex", value.get("imageUuid", ""))), out)

    def _image(self, data: Mapping[str, Any], image_id: str, out: list[Any]) -> None:
        url = str(data.get("imageUrl") or data.get("image_url") or data.get("url") or "")
        progress = _int(data.get("progress"))
        moderated = bool(data.get("moderated"))
        self._content = True
        if data.get("systemErrCode") == "rate_limit":
            raise errors.RateLimited("image generation rate limited")
        if (progress >= 100 or data.get("isFinal")) and not moderated:
            key = url or image_id
            if key not in self._final_images:
                self._final_images.add(key)
                out.append(ev.ImageFinal(image_id, url, str(data.get("assetId") or "")))
            return
        out.append(ev.ImageProgress(image_id, min(progress, 100), url, "progress", moderated))

    def _on_video(self, value: Any, out: list[Any]) -> None:
        if not isinstance(value, Mapping):
            return
        self._content = True
        video_id = str(value.get("videoId") or value.get("assetId") or "")
        progress = _int(value.get("progress"))
        moderated = bool(value.get("moderated"))
        url = str(value.get("videoUrl") or value.get("contentUrl") or value.get("assetUrl") or "")
        if progress >= 100 and url and not moderated:
            if video_id not in self._final_videos:
                self._final_videos.add(video_id)
                post_id = str(value.get("videoPostId") or value.get("postId") or "")
                out.append(
                    ev.VideoFinal(
                        video_id=video_id,
                        url=url,
                        post_id=post_id,
                        thumbnail_url=str(value.get("thumbnailImageUrl") or ""),
                        resolution=str(value.get("resolutionName") or ""),
                        asset_id=str(value.get("assetId") or ""),
                    )
                )
            return
        out.append(ev.VideoProgress(video_id, min(progress, 100), moderated))

    def _on_web_search(self, value: Any, out: list[Any]) -> None:
        results = []
        for item in _results(value):
            url = str(item.get("url") or "")
            title = str(item.get("title") or "")
            self._titles.setdefault(url, title)
            results.append(ev.SearchResult(url, title, str(item.get("preview") or "")))
        if results:
            out.append(ev.SearchResults("web", tuple(results)))

    def _on_x_search(self, value: Any, out: list[Any]) -> None:
        results = []
        for item in _results(value):
            user, post = item.get("username") or "", item.get("postId") or ""
            url = f"https://x.com/{user}/status/{post}"
            results.append(ev.SearchResult(url, f"@{user}", str(item.get("text") or "")))
        if results:
            out.append(ev.SearchResults("x", tuple(results)))

    def _on_error(self, value: Any, out: list[Any]) -> None:
        if value:
            raise translate.from_inband(value, secrets=self._secrets)


_HANDLERS: dict[str, Callable[[ChatStreamParser, Any, list[Any]], None]] = {
    "responseId": ChatStreamParser._on_response_id,
    "llmInfo": ChatStreamParser._on_llm_info,
    "modelResponse": ChatStreamParser._on_model_response,
    "cardAttachment": ChatStreamParser._on_card,
    "cardAttachments": ChatStreamParser._on_cards,
    "streamingImageGenerationResponse": ChatStreamParser._on_image,
    "streamingVideoGenerationResponse": ChatStreamParser._on_video,
    "webSearchResults": ChatStreamParser._on_web_search,
    "xSearchResults": ChatStreamParser._on_x_search,
    "error": ChatStreamParser._on_error,
}


def _results(value: Any) -> list[Mapping[str, Any]]:
    items = value.get("results") if isinstance(value, Mapping) else value
    return [item for item in items or () if isinstance(item, Mapping)]


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value or () if item]


def _int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _error_parts(item: Any) -> tuple[int | None, str]:
    if isinstance(item, Mapping):
        code = item.get("code")
        message = item.get("message") or item.get("error") or item.get("detail") or ""
        return (_int(code) if code is not None else None), str(message)
    return None, str(item)
