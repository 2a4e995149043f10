"""Inline attachments (``data:`` URIs, bare base64 ``file_data``) must be real base64."""

from __future__ import annotations

import base64

import openai
import pytest
from gateway import errors
from gateway.chat import attachments, flatten
from gateway_fakes import Gateway

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
LIMITS = attachments.Limits(max_bytes=1024, fetch_timeout=1)


async def load_image(url: str) -> bytes:
    ref = flatten.AttachmentRef(kind="image", source=url, param="messages.0.content.1")
    [payload] = await attachments.load([ref], fetcher=attachments.Fetcher(), limits=LIMITS)
    return payload.data


async def load_file(data: str) -> bytes:
    ref = flatten.AttachmentRef(kind="file", source=data, filename="a.bin",
                                param="messages.0.content.0")
    [payload] = await attachments.load([ref], fetcher=attachments.Fetcher(), limits=LIMITS)
    return payload.data


ENCODED = base64.b64encode(PNG).decode()


@pytest.mark.parametrize(
    "payload",
    [
        ENCODED,
        ENCODED.rstrip("="),  # unpadded, as some encoders write it
        "\n".join(ENCODED[i:i + 16] for i in range(0, len(ENCODED), 16)),  # line-wrapped
    ],
    ids=["strict", "unpadded", "wrapped"],
)
async def test_data_uris_decode_to_their_bytes(payload: str) -> None:
    assert await load_image("data:image/png;base64," + payload) == PNG


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("iVBORw0KGgo*AAAA", "'*', which is not a base64 character"),
        ("iVBORw0KGgo_AAAA", "URL-safe base64 is not accepted"),
        ("iVBORw0KGgoAA", "length or '=' padding is wrong"),
        ("iVBO=w0KGgo=", "length or '=' padding is wrong"),
        ("", "has no data"),
    ],
    ids=["foreign-character", "url-safe", "truncated", "padding-inside", "empty"],
)
async def test_a_data_uri_that_is_not_base64_is_a_400_naming_the_part(
    payload: str, reason: str
) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        await load_image("data:image/png;base64," + payload)
    assert caught.value.param == "messages.0.content.1.image_url.url"
    assert caught.value.message.startswith("messages.0.content.1.image_url.url ")
    assert reason in caught.value.message


async def test_bare_file_data_that_is_not_base64_is_a_400_naming_the_part() -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        await load_file("this is plain text, not base64!")
    assert caught.value.param == "messages.0.content.0.file.file_data"
    assert "not valid base64" in caught.value.message


async def test_bare_file_data_decodes_to_its_bytes() -> None:
    assert await load_file(ENCODED) == PNG


async def test_an_encoded_attachment_over_the_bound_is_refused_before_decoding() -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        await load_image("data:image/png;base64," + base64.b64encode(b"x" * 1025).decode())
    assert "larger than 1024 bytes" in caught.value.message


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_an_invalid_data_uri_is_refused_before_any_lease_or_upload(
    gateway: Gateway, stream: bool
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await gateway.client().chat.completions.create(
            model="grok-4", stream=stream,
            messages=[{"role": "user", "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR$$"}},
            ]}],
        )
    assert caught.value.body["param"] == "messages.0.content.1.image_url.url"
    assert caught.value.body["type"] == "invalid_request_error"
    assert gateway.pool.acquired == [] and gateway.grok.uploads == []
    assert gateway.grok.requests == []
