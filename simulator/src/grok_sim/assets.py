"""Files each account owns: uploads and generated media, addressed by relative path.

Paths follow the real site (grok-protocol.md §10.4): uploads `users/<uid>/<id>/content`,
generated images `users/<uid>/generated/<id>/image.jpg` (previews `<id>-part-0`), videos
`users/<uid>/generated/<id>/generated_video.mp4` with `preview_image.jpg`.
Public copies (share links) live under `imagine-public/` and need no cookie.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Asset:
    """One stored file. `load` returns the bytes (generated media share cached bytes)."""

    asset_id: str
    owner: str
    path: str
    name: str
    mime_type: str
    load: Callable[[], bytes]
    created: float
    listed: bool = True

    def describe(self) -> dict[str, object]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.created))
        return {
            "assetId": self.asset_id,
            "name": self.name,
            "mimeType": self.mime_type,
            "sizeBytes": str(len(self.load())),
            "createTime": stamp,
            "lastUseTime": stamp,
            "key": self.path,
            "isLatest": True,
        }


class AssetStore:
    """Assets by path (for downloads) and by owner (for listing and deleting)."""

    def __init__(self) -> None:
        self._by_path: dict[str, Asset] = {}
        self._by_id: dict[str, Asset] = {}

    def put(self, asset: Asset) -> Asset:
        self._by_path[asset.path] = asset
        if asset.listed:
            self._by_id[asset.asset_id] = asset
        return asset

    def at(self, path: str) -> Asset | None:
        return self._by_path.get(path.lstrip("/"))

    def owned_by(self, owner: str) -> list[Asset]:
        """Listed assets of one user, newest first (ORDER_BY_LAST_USE_TIME)."""
        mine = [a for a in self._by_id.values() if a.owner == owner]
        return sorted(mine, key=lambda a: (a.created, a.asset_id), reverse=True)

    def delete(self, *, owner: str, asset_id: str) -> bool:
        asset = self._by_id.get(asset_id)
        if asset is None or asset.owner != owner:
            return False
        del self._by_id[asset_id]
        self._by_path = {p: a for p, a in self._by_path.items() if a.asset_id != asset_id}
        return True

    def clear(self) -> None:
        self._by_path.clear()
        self._by_id.clear()
