"""`POST /http/upload-file-v2/direct`: multipart upload (grok-protocol.md §9.2, HEAD generation).

Admission: the `sso`/`sso-rw` cookie, `Origin`, `Referer`, `User-Agent` and
`Content-Type: multipart/form-data; boundary=…` (400 naming what is missing); no statsig
and no `x-xai-request-id` needed (both are accepted when sent). Then the credential (401),
the request faults and `upload-403`. The body needs a `file` part with a filename (its
part `Content-Type` is the stored type, `application/octet-stream` when absent); an
optional `file_source` text field is accepted and recorded. The file is stored like the
JSON upload (`users/<uid>/<id>/content`, downloadable with the owner's cookie).
"""

from __future__ import annotations

from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import HTTP

from starlette.requests import Request
from starlette.responses import Response

from .. import faults, gate, imaging, responses
from .common import headers_of, json_response, read_recorded, sim_state

PATH = "/http/upload-file-v2/direct"
REQUIRED_HEADERS = ("origin", "referer", "user-agent")
FAULT_KINDS = (*faults.REQUEST_KINDS, "upload-403")
FILE_SOURCES = ("IMAGINE_SELF_UPLOAD_FILE_SOURCE",)


async def upload_file_v2(request: Request) -> Response:
    state = sim_state(request)
    body = await read_recorded(request)
    headers = headers_of(request)
    problems = gate.missing_headers(headers, names=REQUIRED_HEADERS,
                                    content_type="multipart/form-data")
    if not problems and "boundary=" not in headers.get("content-type", ""):
        problems.append("Content-Type (multipart/form-data; boundary=…)")
    gate.reject_missing(problems)
    credential, _ = gate.sso_from(headers)
    account = gate.account_for(state, credential)
    gate.raise_request_fault(state, account=account, path=PATH, kinds=FAULT_KINDS)
    parts = parse_multipart(headers["content-type"], body)
    part = parts.get("file")
    if part is None or not part.get_filename():
        raise responses.bad_request(
            "multipart part 'file' with a filename (Content-Disposition: form-data; "
            "name=\"file\"; filename=\"…\") is required"
        )
    source = parts.get("file_source")
    if source is not None and _text(source) not in FILE_SOURCES:
        raise responses.bad_request(f"file_source (one of {', '.join(FILE_SOURCES)})")
    data = part.get_payload(decode=True)
    file_id = state.new_id("file")
    path = imaging.store(state, account=account, asset_id=file_id,
                         path=f"users/{account.user_id}/{file_id}/content",
                         mime=part.get_content_type() if part.get("content-type") else
                         "application/octet-stream",
                         data=data if isinstance(data, bytes) else b"",
                         name=part.get_filename())
    return json_response({
        "uploadId": state.new_id("upload"),
        "terminalError": None,
        "fileMetadata": {"fileMetadataId": file_id, "fileId": file_id, "fileUri": path},
    })


def parse_multipart(content_type: str, body: bytes) -> dict[str, Message]:
    """The parts of a multipart/form-data body by field name (first one of a name wins)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return {}
    parts: dict[str, Message] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            parts.setdefault(name, part)
    return parts


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace").strip() if isinstance(payload, bytes) else ""
