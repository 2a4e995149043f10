"""Settings that change while services run.

``LiveSettings`` holds the current ``Settings`` of a process; components read
``live.current`` when they need a value, so a change applies to the next request without a
restart. Changes are overrides (dotted key → value) on top of the settings loaded at start.
A ``ChangeBus`` carries them to every replica: ``LocalBus`` within one process, ``RedisBus``
across processes through Redis pub/sub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import orjson

from . import loading, model

log = logging.getLogger(__name__)

Listener = Callable[[model.Settings], None]
CHANNEL = "grok2api:settings:changed"


class LiveSettings:
    def __init__(self, base: model.Settings):
        self._base = base
        self._overrides: dict[str, Any] = {}
        self._current = base
        self._listeners: list[Listener] = []

    @property
    def current(self) -> model.Settings:
        return self._current

    @property
    def overrides(self) -> Mapping[str, Any]:
        return dict(self._overrides)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with the new settings after each change; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def apply(self, overrides: Mapping[str, Any]) -> model.Settings:
        """Replace the runtime overrides (validated first; on error nothing changes)."""
        merged = self._base.model_dump()
        for dotted, value in overrides.items():
            section, _, key = dotted.partition(".")
            if not key:
                merged[section] = value
            else:
                merged.setdefault(section, {})[key] = value
        origins = {dotted: "runtime" for dotted in overrides}
        new = loading.validate(merged, origins=origins)
        self._overrides = dict(overrides)
        self._current = new
        for listener in list(self._listeners):
            listener(new)
        log.info("settings_changed keys=%s", ",".join(sorted(overrides)) or "-")
        return new


class ChangeBus(Protocol):
    async def publish(self, overrides: Mapping[str, Any]) -> None: ...

    async def run(self, live: LiveSettings) -> None:
        """Apply every change published by any replica to ``live`` until cancelled."""
        ...


class LocalBus:
    """Changes within one process: publishing applies them directly."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def publish(self, overrides: Mapping[str, Any]) -> None:
        await self._queue.put(dict(overrides))

    async def run(self, live: LiveSettings) -> None:
        while True:
            _apply_logged(live, await self._queue.get())


class RedisBus:
    """Changes across replicas: every replica subscribed to one Redis channel applies them."""

    def __init__(self, redis: Any, *, channel: str = CHANNEL):
        self._redis = redis
        self._channel = channel

    async def publish(self, overrides: Mapping[str, Any]) -> None:
        await self._redis.publish(self._channel, orjson.dumps(dict(overrides)))

    async def run(self, live: LiveSettings) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel)
        try:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    _apply_logged(live, orjson.loads(message["data"]))
                _raise_if_cancelling()
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()


def _raise_if_cancelling() -> None:
    """redis-py on Python 3.11 can hand back a message that raced a cancel and drop the
    cancel; re-raise it, or stopping the listener would wait for the next message."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _apply_logged(live: LiveSettings, overrides: dict[str, Any]) -> None:
    try:
        live.apply(overrides)
    except Exception as exc:  # a bad change from elsewhere must not kill the listener
        log.error("settings_change_rejected error=%s", exc)
