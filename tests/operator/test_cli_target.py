"""``grok2api run --target operator`` checks the pool before touching Kubernetes."""

from __future__ import annotations

import asyncio
import socket

import pytest
from grok2api_cli import split
from grok2api_cli.bootstrap import StartupError
from grok2api_settings import Settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_stops_with_the_setting_to_fix_when_the_pool_is_unreachable() -> None:
    settings = Settings.model_validate(
        {"services": {"token_pool_addr": f"127.0.0.1:{_closed_port()}"}}
    )

    with pytest.raises(StartupError, match="TOKEN_POOL_ADDR"):
        await split.operator(settings, asyncio.Event())
