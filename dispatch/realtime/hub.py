"""Pub/sub between server processes, chosen by URL: memory:// or redis://.

The narrow interface follows encode/broadcaster: connect, disconnect, publish,
and `subscribe(channel)`, an async context manager whose exit always
unsubscribes. Pub/sub may drop messages; the database stays the truth.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub

log = logging.getLogger("dispatch")

POOL_SIZE = 32  # connections to Redis: the subscriptions, the sender, the occasional publish
POOL_WAIT_S = 5.0  # a publish waits this long for a free connection before failing
PIPELINE = 500  # messages sent in one round trip
OUTBOX_LIMIT = 100_000  # queued messages; beyond, the oldest go (peers repair: gap fill, beats)


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
        self.publish_later(channel, message)

    def publish_later(self, channel: str, message: str) -> None:
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
    """Several processes: Redis PUBLISH/SUBSCRIBE.

    `publish_later` queues a message and returns at once: one task sends the queue in
    pipelines, in order, over one connection, so thousands of positions a second cost
    a few round trips and never a connection each (a pool runs out under load)."""

    shared = True

    def __init__(self, url: str) -> None:
        self._url = url
        self._redis: Redis | None = None
        self._pool: BlockingConnectionPool | None = None
        self._outbox: deque[tuple[str, str]] = deque()
        self._sender: asyncio.Task[None] | None = None
        self.dropped = 0  # queued messages the hub could not take (peers repair them)

    async def connect(self) -> None:
        pool = BlockingConnectionPool.from_url(
            self._url, decode_responses=True, max_connections=POOL_SIZE, timeout=POOL_WAIT_S
        )
        self._pool = pool
        self._redis = Redis(connection_pool=pool)
        await self._redis.ping()

    def publish_later(self, channel: str, message: str) -> None:
        if len(self._outbox) >= OUTBOX_LIMIT:
            self._outbox.popleft()
            self.dropped += 1
        self._outbox.append((channel, message))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_queued())

    async def _send_queued(self) -> None:
        while self._outbox:
            batch = [self._outbox.popleft() for _ in range(min(PIPELINE, len(self._outbox)))]
            try:
                pipe = self._client().pipeline(transaction=False)
                for channel, message in batch:
                    pipe.publish(channel, message)
                await pipe.execute()
            except Exception as exc:
                self.dropped += len(batch)
                log.warning("hub: %d messages not published (%s)", len(batch), type(exc).__name__)
                await asyncio.sleep(0.2)

    async def ping(self) -> None:
        await self._client().ping()

    async def disconnect(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        if self._pool is not None:  # ours: the client does not close a pool it was given
            await self._pool.disconnect()
            self._pool = None

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
