"""Typed settings for every grok2api service.

Entry points:
    ``Settings``                 the immutable settings model (sections of the seed + new ones)
    ``loading.load(...)``        defaults ← DATA_DIR/config.toml ← environment, with sources
    ``live.LiveSettings``        the current settings of a running process, changed at runtime
    ``errors.SettingsError``     a bad value, naming the key, the value and where it came from
"""

from .model import Settings

__all__ = ["Settings"]
