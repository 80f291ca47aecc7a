"""The pub/sub hub, on memory and on a real Redis: order kept, unsubscribe on exit."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from dispatch.realtime.hub import Hub, MemoryHub, RedisHub, make_hub

REDIS_URL = "redis://127.0.0.1:6379/0"


async def redis_available() -> bool:
    client = Redis.from_url(REDIS_URL)
    try:
        return bool(await client.ping())
    except OSError:
        return False
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def hub(request: pytest.FixtureRequest) -> AsyncIterator[Hub]:
    if request.param == "redis" and not await redis_available():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Redis is not reachable on 127.0.0.1:6379 (required under CI=true)")
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    made = make_hub("memory://" if request.param == "memory" else REDIS_URL)
    await made.connect()
    try:
        yield made
    finally:
        await made.disconnect()


async def test_every_subscriber_gets_every_message_in_order(hub: Hub) -> None:
    channel = f"test.{uuid.uuid4().hex}"
    async with hub.subscribe(channel) as first, hub.subscribe(channel) as second:
        await asyncio.sleep(0.05)  # Redis: let the SUBSCRIBE land before publishing
        for n in range(50):
            await hub.publish(channel, f"m{n}")
        for messages in (first, second):
            got = [await asyncio.wait_for(anext(messages), 2) for _ in range(50)]
            assert got == [f"m{n}" for n in range(50)]


async def test_channels_are_separate_and_leaving_unsubscribes(hub: Hub) -> None:
    a, b = f"test.{uuid.uuid4().hex}", f"test.{uuid.uuid4().hex}"
    async with hub.subscribe(a) as on_a:
        await asyncio.sleep(0.05)
        await hub.publish(b, "not for a")
        await hub.publish(a, "for a")
        assert await asyncio.wait_for(anext(on_a), 2) == "for a"
    if isinstance(hub, MemoryHub):
        assert not hub._subscribers.get(a)
    else:
        assert isinstance(hub, RedisHub)
        counts = await hub._client().pubsub_numsub(a)
        assert counts == [(a, 0)]


def test_unknown_scheme_is_refused_with_the_key_named() -> None:
    with pytest.raises(ValueError, match=r"pubsub\.url"):
        make_hub("kafka://nowhere")
