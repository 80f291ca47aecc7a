"""A database made by an older version gains the newer nullable columns at start-up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dispatch.storage.db import Database


async def test_missing_nullable_columns_are_added(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.create_tables()
    await db.close()
    with sqlite3.connect(path) as conn:  # as an older version left it: no deployment_id
        conn.execute("DROP INDEX ix_alert_deployment_id")
        conn.execute("DROP INDEX ix_alert_raised_at")
        conn.execute("ALTER TABLE alert DROP COLUMN deployment_id")
        conn.execute("ALTER TABLE event DROP COLUMN user_ids")
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.create_tables()
    await db.close()
    with sqlite3.connect(path) as conn:
        alert = {row[1] for row in conn.execute("PRAGMA table_info(alert)")}
        event = {row[1] for row in conn.execute("PRAGMA table_info(event)")}
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(alert)")}
    assert "deployment_id" in alert and "user_ids" in event
    assert "ix_alert_deployment_id" in indexes
    assert "ix_alert_raised_at" in indexes  # an index newer code adds on an old column
