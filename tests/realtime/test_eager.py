"""`eager.start`: a coroutine runs in the caller's turn of the loop until it first
waits, and only then goes on in a task, which carries on exactly as its own task would
(results, failures, cancellation, bare yields)."""

from __future__ import annotations

import asyncio

import pytest

from dispatch.realtime import eager


async def test_a_coroutine_that_never_waits_is_done_before_start_returns() -> None:
    done: list[str] = []

    async def send() -> None:
        done.append("sent")

    assert eager.start(send()) is None
    assert done == ["sent"]


async def test_a_failure_before_any_wait_is_raised_to_the_caller() -> None:
    async def fail() -> None:
        raise ValueError("bad frame")

    with pytest.raises(ValueError, match="bad frame"):
        eager.start(fail())


async def test_a_coroutine_that_waits_goes_on_in_a_task_once_what_it_waits_on_is_done() -> None:
    steps: list[str] = []
    writable = asyncio.get_running_loop().create_future()

    async def send() -> None:
        steps.append("before")
        steps.append(await writable)
        await asyncio.sleep(0)  # a bare yield, then on
        steps.append("after")

    task = eager.start(send())
    assert task is not None
    assert steps == ["before"]  # ran in the caller's turn, up to its wait
    await asyncio.sleep(0)
    assert steps == ["before"]  # still waiting
    writable.set_result("writable")
    await task
    assert steps == ["before", "writable", "after"]


async def test_a_failure_of_what_it_waits_on_is_raised_inside_it() -> None:
    seen: list[BaseException] = []
    writable = asyncio.get_running_loop().create_future()

    async def send() -> None:
        try:
            await writable
        except ConnectionError as exc:
            seen.append(exc)
            raise

    task = eager.start(send())
    assert task is not None
    writable.set_exception(ConnectionError("gone"))
    with pytest.raises(ConnectionError):
        await task
    assert [str(e) for e in seen] == ["gone"]


async def test_cancelling_the_task_cancels_the_coroutine_where_it_waits() -> None:
    cleaned: list[str] = []
    never = asyncio.get_running_loop().create_future()

    async def send() -> None:
        try:
            await never
        finally:
            cleaned.append("released")

    task = eager.start(send())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["released"]
    assert never.cancelled()


async def test_a_lock_taken_eagerly_is_held_until_the_task_is_done() -> None:
    """What `Connection.send_now` relies on: frames are taken out under the lock, so
    another sender waits for the carried-on send and the order holds."""
    lock = asyncio.Lock()
    order: list[str] = []
    writable = asyncio.get_running_loop().create_future()

    async def slow_send() -> None:
        async with lock:
            await writable
            order.append("first")

    async def next_send() -> None:
        async with lock:
            order.append("second")

    task = eager.start(slow_send())
    assert task is not None and lock.locked()
    after = asyncio.get_running_loop().create_task(next_send())
    await asyncio.sleep(0)
    assert order == []
    writable.set_result(None)
    await asyncio.gather(task, after)
    assert order == ["first", "second"]
