from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import RunningServer, fresh_database, settings_for, start_server


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database: every behaviour test runs on SQLite and on PostgreSQL."""
    async with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
def server_settings() -> dict[str, Any]:
    """Overrides for the server under test; a test module may override this fixture."""
    return {"dispatch.offer_timeout_s": 5, "realtime.position_flush_s": 0.2}


@pytest.fixture
async def server(db_url: str, server_settings: dict[str, Any]) -> AsyncIterator[RunningServer]:
    running = await start_server(settings_for(db_url, **server_settings))
    try:
        yield running
    finally:
        await running.stop()
