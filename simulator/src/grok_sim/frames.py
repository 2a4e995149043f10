"""NDJSON frames of the app-chat answer stream (grok-protocol.md §4.2, §5, §11.1, §13.3)."""

from __future__ import annotations

import time
from typing import Any

import orjson

MODEL_HASH = "sim-grok-model-hash"


def line(frame: dict[str, Any]) -> bytes:
    return orjson.dumps(frame) + b"\n"


def iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def response(fields: dict[str, Any]) -> bytes:
    return line({"result": {"response": fields}})


def conversation(*, conversation_id: str, temporary: bool) -> bytes:
    stamp = iso_now()
    return line(
        {
            "result": {
                "conversation": {
                    "conversationId": conversation_id,
                    "title": "New conversation",
                    "starred": False,
                    "createTime": stamp,
                    "modifyTime": stamp,
                    "systemPromptName": "",
                    "temporary": temporary,
                    "mediaTypes": [],
                }
            }
        }
    )


def user_response(*, user_response_id: str, message: str) -> bytes:
    return response(
        {
            "userResponse": {
                "responseId": user_response_id,
                "message": message,
                "sender": "human",
                "createTime": iso_now(),
                "manual": False,
                "partial": False,
                "shared": False,
                "query": "",
                "queryType": "",
                "metadata": {},
            },
            "isThinking": False,
            "isSoftStop": False,
            "responseId": user_response_id,
        }
    )


def token(
    text: str,
    *,
    response_id: str,
    thinking: bool,
    tag: str,
    step: int,
    rollout_id: str | None = None,
    first: bool = False,
) -> bytes:
    if rollout_id is None and not first:
        # Hot path (most frames of every answer): splice bytes instead of building a dict.
        return b"".join((
            b'{"result":{"response":{"token":', orjson.dumps(text),
            b',"isThinking":true' if thinking else b',"isThinking":false',
            b',"isSoftStop":false,"responseId":', orjson.dumps(response_id),
            b',"messageTag":', orjson.dumps(tag), b',"messageStepId":', str(step).encode(),
            b"}}}\n",
        ))
    fields: dict[str, Any] = {
        "token": text,
        "isThinking": thinking,
        "isSoftStop": False,
        "responseId": response_id,
        "messageTag": tag,
        "messageStepId": step,
    }
    if rollout_id is not None:
        fields["rolloutId"] = rollout_id
    if first:
        fields["llmInfo"] = {"modelHash": MODEL_HASH}
    return response(fields)


def card_attachment(card: dict[str, Any], *, response_id: str) -> bytes:
    return response(
        {
            "cardAttachment": {"jsonData": orjson.dumps(card).decode()},
            "isThinking": False,
            "isSoftStop": False,
            "responseId": response_id,
            "messageTag": "final",
        }
    )


def model_response(
    *,
    response_id: str,
    parent_response_id: str,
    message: str,
    generated_image_urls: list[str] | None = None,
    file_attachments: list[str] | None = None,
    cards: list[dict[str, Any]] | None = None,
    web_search_results: list[dict[str, Any]] | None = None,
    stream_errors: list[Any] | None = None,
) -> bytes:
    return response(
        {
            "modelResponse": {
                "responseId": response_id,
                "message": message,
                "sender": "assistant",
                "createTime": iso_now(),
                "parentResponseId": parent_response_id,
                "manual": False,
                "partial": False,
                "shared": False,
                "query": "",
                "queryType": "",
                "webSearchResults": web_search_results or [],
                "xpostIds": [],
                "xposts": [],
                "generatedImageUrls": generated_image_urls or [],
                "imageAttachments": [],
                "fileAttachments": file_attachments or [],
                "cardAttachmentsJson": [orjson.dumps(c).decode() for c in cards or []],
                "fileUris": [],
                "isControl": False,
                "steps": [],
                "mediaTypes": [],
                "streamErrors": stream_errors or [],
                "metadata": {"llm_info": {"modelHash": MODEL_HASH}},
            },
            "isThinking": False,
            "isSoftStop": False,
            "responseId": response_id,
        }
    )


def soft_stop(*, response_id: str) -> bytes:
    return response(
        {"token": "", "isThinking": False, "isSoftStop": True, "responseId": response_id}
    )


def final_metadata(*, response_id: str) -> bytes:
    return response(
        {
            "finalMetadata": {"followUpSuggestions": [], "feedbackLabels": [], "toolsUsed": {}},
            "isThinking": False,
            "isSoftStop": False,
            "responseId": response_id,
        }
    )


INBAND_SHAPES = ("top", "response", "stream_errors")


def inband_error(*, code: int, message: str, shape: str = "top", response_id: str = "") -> bytes:
    """An in-band error (§17.1) as a top-level `error`, a `result.response.error`, or a
    `modelResponse.streamErrors` entry."""
    error = {"code": code, "message": message, "details": []}
    if shape == "response":
        return response({"error": error, "isThinking": False, "responseId": response_id})
    if shape == "stream_errors":
        return response({"modelResponse": {"responseId": response_id, "message": "",
                                           "streamErrors": [error]},
                         "isThinking": False, "responseId": response_id})
    return line({"error": error})
