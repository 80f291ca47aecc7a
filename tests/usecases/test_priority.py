"""New alerts first: routine work waits while a raise is in flight, never for long."""

from __future__ import annotations

import asyncio

from dispatch.usecases.priority import Priority


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
