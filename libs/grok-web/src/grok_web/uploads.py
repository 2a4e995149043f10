"""File uploads, in the generation ``options.upload_protocol`` names.

* ``v2`` (grok.com since August 2026, §9.2): multipart POST to
  ``/http/upload-file-v2/direct``; the answer wraps the ids in ``fileMetadata`` and
  reports a refusal as a non-empty ``terminalError`` on a 200.
* ``json`` (the February 2026 generation, §9.1): base64 JSON to
  ``/rest/app-chat/upload-file``.

``purpose`` says what the file is for: ``chat`` attachments are sent from the chat page;
``imagine`` files (image-edit and video references) are sent from ``/imagine`` and, in
upload v2, tagged ``file_source=IMAGINE_SELF_UPLOAD_FILE_SOURCE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pybase64

from grok_web import context, curl_engine, translate
from grok_web.assets import UploadedFile

UPLOAD_JSON = "/rest/app-chat/upload-file"
UPLOAD_V2 = "/http/upload-file-v2/direct"
IMAGINE_FILE_SOURCE = "IMAGINE_SELF_UPLOAD_FILE_SOURCE"

Purpose = Literal["chat", "imagine"]


async def upload_file(
    *,
    ctx: context.Context,
    credential: str,
    file_name: str,
    mime_type: str,
    content: bytes,
    purpose: Purpose = "chat",
) -> UploadedFile:
    """Upload ``content``; returns its ids. Raises :class:`errors.UploadRejected` when
    upload v2 refuses the file in-band."""
    referer = ctx.page("/imagine" if purpose == "imagine" else "/")
    if ctx.options.upload_protocol == "json":
        return await _upload_json(ctx, credential, file_name, mime_type, content, referer)
    return await _upload_v2(ctx, credential, file_name, mime_type, content, referer, purpose)


async def _upload_v2(
    ctx: context.Context,
    credential: str,
    file_name: str,
    mime_type: str,
    content: bytes,
    referer: str,
    purpose: Purpose,
) -> UploadedFile:
    form = [curl_engine.FormPart("file", content, filename=file_name, content_type=mime_type)]
    if purpose == "imagine":
        form.append(curl_engine.FormPart("file_source", IMAGINE_FILE_SOURCE.encode()))
    headers = ctx.headers.multipart_upload(
        credential=credential, origin=ctx.origin, referer=referer
    )
    response = await ctx.transport.request(
        "POST", ctx.url(UPLOAD_V2), headers=headers, form=form, secrets=(credential,)
    )
    return uploaded_v2(
        translate.json_object(response.content, what="upload-file-v2"), secrets=(credential,)
    )


def uploaded_v2(data: Mapping[str, Any], *, secrets: tuple[str, ...] = ()) -> UploadedFile:
    """The ids of an upload v2 answer; a non-empty ``terminalError`` (anything but null,
    false, 0, '' or an empty collection) is the upstream refusing the file."""
    terminal = data.get("terminalError")
    if terminal:
        raise translate.from_upload_error(terminal, secrets=secrets)
    metadata = data.get("fileMetadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    metadata_id = str(metadata.get("fileMetadataId") or "")
    file_id = metadata_id or metadata.get("fileId") or data.get("uploadId")
    if not file_id:
        raise translate.malformed("upload-file-v2 answer without an id")
    return UploadedFile(
        file_id=str(file_id),
        file_uri=str(metadata.get("fileUri") or ""),
        file_metadata_id=metadata_id,
    )


async def _upload_json(
    ctx: context.Context,
    credential: str,
    file_name: str,
    mime_type: str,
    content: bytes,
    referer: str,
) -> UploadedFile:
    headers = ctx.headers.json(credential=credential, origin=ctx.origin, referer=referer)
    body = {
        "fileName": file_name,
        "fileMimeType": mime_type,
        "content": pybase64.b64encode(content).decode("ascii"),
    }
    response = await ctx.transport.request(
        "POST", ctx.url(UPLOAD_JSON), headers=headers, json=body, secrets=(credential,)
    )
    data = translate.json_object(response.content, what="upload-file")
    metadata_id = str(data.get("fileMetadataId") or "")
    file_id = metadata_id or data.get("fileId")
    if not file_id:
        raise translate.malformed("upload-file answer without fileMetadataId")
    return UploadedFile(
        file_id=str(file_id), file_uri=str(data.get("fileUri") or ""), file_metadata_id=metadata_id
    )
