"""The simulator's exception tree.

    SimError
    ├── RequestRejected   an upstream answer other than success (400/401/403/404/429/5xx);
    │                     handlers raise it and one exception handler renders it
    └── ConfigError       a bad accounts file, option or control-API payload
"""

from __future__ import annotations

from collections.abc import Mapping


class SimError(Exception):
    """Base of every error the simulator raises on purpose."""


class ConfigError(SimError):
    """An accounts file, CLI option or control-API payload that cannot be used."""


class RequestRejected(SimError):
    """An HTTP answer that ends the request early.

    `body` is sent as-is (bytes) with `content_type`; `headers` are added to the answer.
    """

    def __init__(
        self,
        *,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"rejected status={status}")
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})
