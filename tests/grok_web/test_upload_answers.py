"""Upload v2 answers (§9.2): which id a chat attachment uses, and how a terminalError
surfaces."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from grok_web import errors, uploads
from grok_web_helpers import read_request

METADATA = {"fileMetadataId": "meta-1", "fileId": "file-1", "fileUri": "users/u/meta-1/content"}


def test_the_chat_reference_prefers_the_metadata_id_then_the_file_id_then_the_upload_id():
    full = uploads.uploaded_v2({"uploadId": "up-1", "fileMetadata": METADATA})
    assert (full.file_id, full.file_metadata_id, full.file_uri) == (
        "meta-1",
        "meta-1",
        "users/u/meta-1/content",
    )
    no_meta = uploads.uploaded_v2({"uploadId": "up-1", "fileMetadata": {"fileId": "file-1"}})
    assert (no_meta.file_id, no_meta.file_metadata_id) == ("file-1", "")
    assert uploads.uploaded_v2({"uploadId": "up-1"}).file_id == "up-1"


@pytest.mark.parametrize("empty", [None, False, 0, "", {}, []])
def test_an_empty_terminal_error_is_success(empty):
    answer = {"uploadId": "up-1", "terminalError": empty, "fileMetadata": METADATA}
    assert uploads.uploaded_v2(answer).file_id == "meta-1"


@pytest.mark.parametrize(
    ("terminal", "expected"),
    [
        ({"code": 3, "message": "unsupported file type"}, errors.UploadRejected),
        ("file too large", errors.UploadRejected),
        (True, errors.UploadRejected),
        ({"message": "You've reached your usage limit"}, errors.RateLimited),
    ],
)
def test_a_terminal_error_is_a_typed_refusal(terminal, expected):
    answer = {"uploadId": "up-1", "terminalError": terminal, "fileMetadata": METADATA}
    with pytest.raises(expected) as caught:
        uploads.uploaded_v2(answer, secrets=("tok",))
    assert type(caught.value) is expected
    assert "upload" in caught.value.message


def test_an_answer_without_any_id_is_malformed():
    with pytest.raises(errors.MalformedResponse):
        uploads.uploaded_v2({"terminalError": None, "fileMetadata": {}})


async def test_a_terminal_error_on_the_wire_raises_upload_rejected(raw_server, client_for):
    seen: list[bytes] = []

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        body = orjson.dumps(
            {
                "uploadId": "up-9",
                "terminalError": {"code": 3, "message": "image rejected"},
                "fileMetadata": None,
            }
        )
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    server = await raw_server(refuse)
    client = client_for(server.base_url)
    with pytest.raises(errors.UploadRejected) as caught:
        await client.upload_file(
            credential="tok", file_name="a.png", mime_type="image/png", content=b"x"
        )
    assert caught.value.code == 3 and caught.value.blame == "transient"
    assert "image rejected" in caught.value.message
    assert seen[0].startswith(b"POST /http/upload-file-v2/direct ")
