"""What the settings, cache and dashboard routers work with, attached to an admin app.

The routers find these on ``app.state`` and answer 503 when one is missing, so an app
built without them (tests of other routers) still starts.
"""

from __future__ import annotations

from fastapi import FastAPI

from . import dashboard, media_cache, settings_editor

App = FastAPI


def attach(
    app: FastAPI,
    *,
    editor: settings_editor.SettingsEditor,
    cache: media_cache.MediaCache,
    cache_scope: media_cache.Scope,
    board: dashboard.Dashboard,
) -> None:
    app.state.settings_editor = editor
    app.state.media_cache = cache
    app.state.media_scope = cache_scope
    app.state.dashboard = board
