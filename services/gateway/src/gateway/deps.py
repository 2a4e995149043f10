"""Request-scoped dependencies: the app's services and an authenticated caller."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, Request
from grok2api_media.blobs import BlobStore

from . import auth
from .chat import service
from .media.service import MediaService


@dataclasses.dataclass(frozen=True, kw_only=True)
class AppServices:
    """Everything routers use, built once by ``app.create_app``."""

    chat: service.Deps
    client_keys: auth.KeyVerifier | None
    blobs: BlobStore | None = None  # the media files /v1/files serves; None: no media
    media: MediaService | None = None  # the image and video endpoints' queue and store


async def get_services(request: Request) -> AppServices:
    # async on purpose: FastAPI runs plain ``def`` dependencies in a worker thread.
    return services_of(request)


def services_of(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


async def require_client(request: Request) -> None:
    await authenticate(request, services_of(request))


async def authenticate(request: Request, services: AppServices) -> None:
    """Raise ``errors.AuthenticationFailed`` unless the caller may use the API."""
    await auth.authenticate(
        request=request,
        api_key=services.chat.settings.current.app.api_key,
        store=services.client_keys,
    )


ServicesDep = Annotated[AppServices, Depends(get_services)]
Authenticated = Depends(require_client)
