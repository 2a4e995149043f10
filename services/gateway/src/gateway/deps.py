"""Request-scoped dependencies: the app's services and an authenticated caller."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, Request
from grok2api_media.blobs import BlobStore

from .access.caller import Caller
from .access.guard import Guard
from .chat import service
from .media.service import MediaService
from .responses_api.service import ResponsesService


@dataclasses.dataclass(frozen=True, kw_only=True)
class AppServices:
    """Everything routers use, built once by ``app.create_app``."""

    chat: service.Deps
    guard: Guard
    blobs: BlobStore | None = None  # the media files /v1/files serves; None: no media
    media: MediaService | None = None  # the image and video endpoints' queue and store
    responses: ResponsesService | None = None  # the Responses API (/v1/responses)


async def get_services(request: Request) -> AppServices:
    # async on purpose: FastAPI runs plain ``def`` dependencies in a worker thread.
    return services_of(request)


def services_of(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


async def require_client(request: Request) -> Caller:
    """The caller (``errors.AuthenticationFailed`` unless they may use the API)."""
    return await services_of(request).guard.authenticate(request.headers)


ServicesDep = Annotated[AppServices, Depends(get_services)]
CallerDep = Annotated[Caller, Depends(require_client)]
Authenticated = Depends(require_client)
