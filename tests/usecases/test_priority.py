"""New alerts first: routine work waits while a raise is in flight, never for long, and
the raise itself goes first in line for the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dispatch.realtime.events import KIND_OFFER, StoredEvent
from dispatch.realtime.hub import MemoryHub
from dispatch.storage.db import Database
from dispatch.storage.store import SqliteStore, first_in_line
from dispatch.usecases.context import Context
from dispatch.usecases.priority import Priority
from dispatch.usecases.work import Changes
from tests.support import settings_for


async def turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_routine_work_goes_at_once_while_no_alert_is_raised() -> None:
    priority = Priority(max_wait_s=60)
    await asyncio.wait_for(priority.routine(), 30)
    assert priority.waited == 0


async def test_routine_work_waits_until_every_raise_in_flight_is_done() -> None:
    priority = Priority(max_wait_s=60)
    first, second = asyncio.Event(), asyncio.Event()

    async def raise_until(done: asyncio.Event) -> None:
        with priority.urgent():
            await done.wait()

    raises = [asyncio.create_task(raise_until(e)) for e in (first, second)]
    await turns()
    routine = asyncio.create_task(priority.routine())
    await turns()
    assert priority.urgent_in_flight == 2 and not routine.done()
    first.set()
    await turns()
    assert not routine.done()  # one raise is still in flight
    second.set()
    await asyncio.wait_for(routine, 30)
    await asyncio.gather(*raises)
    assert priority.waited == 1 and priority.urgent_in_flight == 0


async def test_a_raise_that_fails_still_lets_routine_work_go() -> None:
    priority = Priority(max_wait_s=60)
    try:
        with priority.urgent():
            raise RuntimeError("the database is gone")
    except RuntimeError:
        pass
    await asyncio.wait_for(priority.routine(), 30)
    assert priority.waited == 0


async def test_routine_work_is_delayed_never_starved() -> None:
    priority = Priority(max_wait_s=0.05)
    forever = asyncio.Event()

    async def stuck_raise() -> None:
        with priority.urgent():
            await forever.wait()

    stuck = asyncio.create_task(stuck_raise())
    await turns()
    await asyncio.wait_for(priority.routine(), 30)  # goes after max_wait_s anyway
    assert priority.waited == 1 and priority.urgent_in_flight == 1
    forever.set()
    await stuck


def test_a_raise_is_first_in_line_for_the_database_only_while_it_runs() -> None:
    priority = Priority(max_wait_s=60)
    assert not first_in_line.get()
    with priority.urgent():
        assert first_in_line.get()
    assert not first_in_line.get()
    with pytest.raises(RuntimeError), priority.urgent():
        raise RuntimeError("the raise failed")
    assert not first_in_line.get()


async def test_a_task_a_raise_sets_going_is_not_first_in_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'spawn.db'}"
    db, store = Database(url), SqliteStore(url)
    ctx = Context(db=db, store=store, hub=MemoryHub(), settings=settings_for(url))
    seen: list[bool] = []

    async def background() -> None:
        seen.append(first_in_line.get())

    try:
        with ctx.priority.urgent():
            spawned = ctx.spawn(background())
        await asyncio.wait_for(spawned, 30)
    finally:
        await store.close()
        await db.engine.dispose()
    assert seen == [False]


async def test_a_raises_events_are_sent_from_its_own_task_and_routine_ones_are_not(
    tmp_path: Path,
) -> None:
    """`Context.committed` hands the crews of a raise's events to `send_now` (the app's
    registry: their frames leave in the raise's own turn), and nothing else's."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'send.db'}"
    db, store = Database(url), SqliteStore(url)
    ctx = Context(db=db, store=store, hub=MemoryHub(), settings=settings_for(url))
    sent: list[set[str]] = []
    ctx.send_now = sent.append

    def offer_event(seq: int) -> StoredEvent:
        return StoredEvent(seq, KIND_OFFER, f"o{seq}", "{}", None, ("c1", "c2"))

    try:
        routine = Changes(datetime.now(UTC), events=[offer_event(1)])
        await ctx.committed(routine)
        assert sent == []
        with ctx.priority.urgent():
            await ctx.committed(Changes(datetime.now(UTC), events=[offer_event(2)]))
        assert sent == [{"c1", "c2"}]
    finally:
        await ctx.stop()
        await store.close()
        await db.engine.dispose()
