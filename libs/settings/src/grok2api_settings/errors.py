"""Settings errors: each names the key, the offending value and where it came from."""

from __future__ import annotations


class SettingsError(Exception):
    """A setting is malformed; the message is meant to be shown to a person as is."""

    def __init__(self, message: str, *, key: str = "", source: str = ""):
        super().__init__(message)
        self.key = key
        self.source = source
