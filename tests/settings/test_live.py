import asyncio
import uuid

import pytest
from grok2api_settings import Settings
from grok2api_settings.errors import SettingsError
from grok2api_settings.live import LiveSettings, LocalBus, RedisBus
from redis import asyncio as aioredis


def test_apply_changes_current_and_notifies_listeners():
    live = LiveSettings(Settings())
    seen = []
    live.subscribe(seen.append)
    live.apply({"chat.stream": True})
    assert live.current.chat.stream is True
    assert seen == [live.current]


def test_a_bad_override_changes_nothing():
    live = LiveSettings(Settings())
    with pytest.raises(SettingsError, match=r"retry\.max_retry"):
        live.apply({"retry.max_retry": "many"})
    assert live.current == Settings()


def test_overrides_replace_earlier_ones_instead_of_accumulating():
    live = LiveSettings(Settings())
    live.apply({"chat.stream": True})
    live.apply({"chat.thinking": False})
    assert live.current.chat.stream is False
    assert live.current.chat.thinking is False


async def test_local_bus_applies_published_changes():
    live = LiveSettings(Settings())
    bus = LocalBus()
    runner = asyncio.create_task(bus.run(live))
    await bus.publish({"retry.max_retry": 1})
    for _ in range(100):
        if live.current.retry.max_retry == 1:
            break
        await asyncio.sleep(0.01)
    runner.cancel()
    assert live.current.retry.max_retry == 1


async def test_redis_bus_reaches_every_replica():
    redis = aioredis.from_url("redis://127.0.0.1:6379/0")
    channel = f"test:settings:{uuid.uuid4().hex}"
    replicas = [LiveSettings(Settings()) for _ in range(2)]
    runners = [asyncio.create_task(RedisBus(redis, channel=channel).run(r)) for r in replicas]
    await asyncio.sleep(0.2)  # let both subscriptions register
    await RedisBus(redis, channel=channel).publish({"chat.temporary": False})
    for _ in range(200):
        if all(r.current.chat.temporary is False for r in replicas):
            break
        await asyncio.sleep(0.01)
    for runner in runners:
        runner.cancel()
    await asyncio.gather(*runners, return_exceptions=True)
    await redis.aclose()
    assert [r.current.chat.temporary for r in replicas] == [False, False]


class _LosesCancelPubSub:
    """A pub/sub whose read swallows a cancel and returns the message that raced it."""

    def __init__(self) -> None:
        self.reading = asyncio.Event()

    async def subscribe(self, channel: str) -> None:
        return None

    async def listen(self):
        while True:
            self.reading.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass  # as redis-py can: the answer arrived with the cancel, which is lost
            yield {"type": "message", "data": b'{"chat.temporary": false}'}

    async def aclose(self) -> None:
        return None


async def test_redis_bus_stops_when_a_message_races_the_cancel():
    pubsub = _LosesCancelPubSub()

    class FakeRedis:
        def pubsub(self) -> _LosesCancelPubSub:
            return pubsub

    live = LiveSettings(Settings())
    runner = asyncio.create_task(RedisBus(FakeRedis()).run(live))
    await pubsub.reading.wait()
    runner.cancel()
    async with asyncio.timeout(5):
        with pytest.raises(asyncio.CancelledError):
            await runner
    assert live.current.chat.temporary is False  # the raced message was still applied
