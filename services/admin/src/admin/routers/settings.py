"""Settings: every setting with its documentation and source, runtime changes, a diff
against the defaults. Secrets are write-only: masked in every answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from grok2api_settings import applying
from grok2api_storage import StorageError
from pydantic import BaseModel, Field

from .. import audit, settings_catalog, settings_editor

router = APIRouter(tags=["settings"])


def _editor(request: Request) -> settings_editor.SettingsEditor:
    editor: settings_editor.SettingsEditor | None = getattr(
        request.app.state, "settings_editor", None
    )
    if editor is None:
        raise HTTPException(status_code=503, detail="this admin app has no settings store")
    return editor


Editor = Annotated[settings_editor.SettingsEditor, Depends(_editor)]


class SettingsChange(BaseModel):
    values: dict[str, Any] = Field(
        ..., min_length=1, description="Dotted key (`chat.stream`) → new value."
    )


@router.get("/settings")
async def list_settings(editor: Editor) -> dict[str, Any]:
    """Every setting grouped by section: description, type, default, current value,
    source, whether it differs from the default and whether a change needs a restart."""
    return {"sections": await editor.describe()}


@router.get("/settings/diff")
async def settings_diff(editor: Editor) -> dict[str, Any]:
    """The settings whose current value differs from the default."""
    return {"changed": settings_catalog.diff(await editor.describe())}


@router.put("/settings")
async def change_settings(
    change: SettingsChange, request: Request, editor: Editor
) -> dict[str, Any]:
    """Validate, store and apply on every replica; 400 naming each refused key."""
    try:
        changed = await editor.change(change.values, by=audit.actor(request))
    except settings_editor.InvalidSettings as exc:
        raise HTTPException(status_code=400, detail={"invalid": exc.problems}) from exc
    except StorageError as exc:  # e.g. a stored secret this replica has no key for
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    await audit.audit(request, "settings.change", ",".join(changed), settings=changed)
    return _changed(changed)


@router.delete("/settings/{dotted}")
async def reset_setting(dotted: str, request: Request, editor: Editor) -> dict[str, Any]:
    """Remove a stored override: the setting returns to its default (or file/environment)."""
    try:
        removed = await editor.reset([dotted], by=audit.actor(request))
    except settings_editor.InvalidSettings as exc:
        raise HTTPException(status_code=404, detail={"invalid": exc.problems}) from exc
    except StorageError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    if removed:
        await audit.audit(request, "settings.reset", dotted)
    return {**_changed([dotted] if removed else []), "removed": bool(removed)}


def _changed(keys: list[str]) -> dict[str, Any]:
    return {
        "changed": keys,
        "restart_required": {
            key: why for key in keys if (why := applying.restart_required(key)) is not None
        },
    }
