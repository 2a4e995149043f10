"""The data directory: created on first start, with a commented config file."""

from __future__ import annotations

import logging
from pathlib import Path

from . import rendering

log = logging.getLogger(__name__)


def prepare(data_dir: Path, *, config_file: Path | None = None) -> Path:
    """Create ``data_dir`` and its ``config.toml`` (all defaults) when missing."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = config_file or data_dir / "config.toml"
    if not path.exists():
        path.write_text(rendering.defaults_file(), encoding="utf-8")
        log.info("config_file_created path=%s", path)
    return path
