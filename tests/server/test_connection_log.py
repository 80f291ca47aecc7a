"""A websocket opened writes no log line unless `logging.connections` asks for it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pytest

from tests.support import RunningServer, settings_for, start_server

LINES = ("connection open", '"WebSocket /ws" [accepted]')


@contextlib.contextmanager
def uvicorn_lines(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Hear uvicorn.error at INFO (its own logging config does not pass it to the root)."""
    logger = logging.getLogger("uvicorn.error")
    level = logger.level
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(level)


def connection_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if any(x in r.getMessage() for x in LINES)]


async def test_a_phone_connecting_writes_no_line_by_default(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    with uvicorn_lines(caplog):
        officer = await server.officer()
        await officer.close()
    assert connection_lines(caplog) == []  # heard, as the next test shows, but dropped


async def test_logging_connections_keeps_a_line_per_connection(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_server(settings_for(sqlite_url, **{"logging.connections": True}))
    try:
        with uvicorn_lines(caplog):
            officer = await running.officer()
            await officer.close()
    finally:
        await running.stop()
    assert len(connection_lines(caplog)) == 2  # "[accepted]" and "connection open"
