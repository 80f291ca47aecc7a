"""Pub/sub between server processes, chosen by URL: memory:// or redis://.

The narrow interface follows encode/broadcaster: connect, disconnect, publish,
and `subscribe(channel)`, an async context manager whose exit always
unsubscribes. Pub/sub may drop messages; the database stays the truth.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.asyncio.client import PubSub


class MemoryHub:
    """One process: every subscriber gets every message, in publish order."""

    shared = False  # no peers: what this process publishes it also delivers itself

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = {}

    async def connect(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def disconnect(self) -> None:
        self._subscribers.clear()

    async def publish(self, channel: str, message: str) -> None:
        for queue in self._subscribers.get(channel, ()):
            queue.put_nowait(message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._subscribers.setdefault(channel, set()).add(queue)
        try:
            yield _drain(queue)
        finally:
            self._subscribers.get(channel, set()).discard(queue)


async def _drain(queue: asyncio.Queue[str]) -> AsyncIterator[str]:
    while True:
        yield await queue.get()


class RedisHub:
    """Several processes: Redis PUBLISH/SUBSCRIBE."""

    shared = True

    def __init__(self, url: str) -> None:
        self._url = url
        self._redis: Redis | None = None

    async def connect(self) -> None:
        self._redis = Redis.from_url(self._url, decode_responses=True)
        await self._redis.ping()

    async def ping(self) -> None:
        await self._client().ping()

    async def disconnect(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def _client(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("hub is not connected")
        return self._redis

    async def publish(self, channel: str, message: str) -> None:
        await self._client().publish(channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        pubsub = self._client().pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        try:
            yield _messages(pubsub)
        finally:
            await pubsub.unsubscribe(channel)
            await pubsub.aclose()  # type: ignore[no-untyped-call]


async def _messages(pubsub: PubSub) -> AsyncIterator[str]:
    async for item in pubsub.listen():
        if item.get("type") == "message":
            yield str(item["data"])


def make_hub(url: str) -> MemoryHub | RedisHub:
    if url.startswith("memory://"):
        return MemoryHub()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHub(url)
    raise ValueError(f"pubsub.url: unknown scheme in {url!r} (use memory:// or redis://)")


Hub = MemoryHub | RedisHub
