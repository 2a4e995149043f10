"""What the gateway needs from ``grok_web.GrokClient``, as a protocol tests can fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from grok_web import chat as grok_chat
from grok_web import options as grok_options

from . import attachments


class GrokChat(Protocol):
    def chat_batches(
        self,
        *,
        credential: str,
        request: grok_chat.ChatRequest,
        user_id: str = "",
        egress: grok_options.Egress | None = None,
    ) -> AsyncIterator[Sequence[Any]]:
        """Stream one chat turn as lists of ``grok_web.events`` (one per network read);
        raises ``grok_web.errors``. ``user_id``: the account's user id when known (the
        lease's), else a turn that looks it up reports it on ``ConversationStarted``.
        ``egress``: the lease's (None = the network settings)."""
        ...

    async def upload_file(
        self,
        *,
        credential: str,
        file_name: str,
        mime_type: str,
        content: bytes,
        egress: grok_options.Egress | None = None,
    ) -> Any:
        """Upload one file; the answer's ``file_id`` goes into ``fileAttachments``."""
        ...


async def upload_all(
    grok: GrokChat,
    *,
    credential: str,
    payloads: Sequence[attachments.Payload],
    egress: grok_options.Egress | None = None,
) -> tuple[str, ...]:
    """Upload every payload with the leased account through its egress; their upstream
    file ids in order."""
    ids = []
    for payload in payloads:
        uploaded = await grok.upload_file(
            credential=credential,
            file_name=payload.name,
            mime_type=payload.mime,
            content=payload.data,
            egress=egress,
        )
        ids.append(uploaded.file_id)
    return tuple(ids)
