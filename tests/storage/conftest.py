"""Fixtures shared by the storage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dispatch.storage.db import Database
from tests.support import fresh_database


@pytest.fixture
async def pg_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh PostgreSQL database, dropped after (skipped where there is none)."""
    async with fresh_database("postgres", tmp_path) as url:
        db = Database(url)
        try:
            yield db
        finally:
            await db.close()
