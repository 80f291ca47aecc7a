"""The revisions and the models agree: a database brought to the head by the revisions
has the models' schema (Alembic finds nothing to autogenerate), and the same schema as
one made by `create_all` (the start-up's fast path for an empty database).

A new table or column without its revision fails `test_models_match_migrations`:
write it with `dispatch db revision -m "..."` (README, "Database migrations")."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from dispatch.storage import commands, migrate
from dispatch.storage.all_models import metadata
from dispatch.storage.db import Database
from tests.storage.support import schema_of
from tests.support import fresh_database, settings_for


def _migrate_to_head(conn: Connection) -> tuple[list[Any], dict[str, Any]]:
    command.upgrade(migrate.config(conn), "head")
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return compare_metadata(context, metadata()), schema_of(conn)


async def _by_revisions(url: str) -> tuple[list[Any], dict[str, Any]]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(_migrate_to_head)
    finally:
        await engine.dispose()


async def _by_create_all(url: str) -> dict[str, Any]:
    db = Database(url)
    try:
        await db.create_tables()
        async with db.engine.connect() as conn:
            return await conn.run_sync(schema_of)
    finally:
        await db.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_models_match_migrations(kind: str, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with (
        fresh_database(kind, tmp_path / "a") as migrated,
        fresh_database(kind, tmp_path / "b") as created,
    ):
        differences, revisions_schema = await _by_revisions(migrated)
        assert differences == [], (
            "the models differ from the revisions' head: write a revision "
            '(`dispatch db revision -m "..."`, README "Database migrations")'
        )
        assert await _by_create_all(created) == revisions_schema


def test_next_revision_is_numbered_after_the_last(tmp_path: Path) -> None:
    assert commands.next_revision_id(tmp_path) == "0001"
    (tmp_path / "0001_baseline.py").write_text("")
    (tmp_path / "0012_later.py").write_text("")
    (tmp_path / "notes.txt").write_text("")
    assert commands.next_revision_id(tmp_path) == "0013"


def test_dispatch_db_revision_writes_the_next_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    monkeypatch.setattr(migrate, "MIGRATIONS", copy)
    migrate.scripts.cache_clear()
    try:
        head = migrate.head()
        number = commands.next_revision_id(copy / "versions")
        args = argparse.Namespace(command="db", action="revision", message="an example change")
        assert commands.run(settings_for("sqlite+aiosqlite://"), args) == 0
        path = copy / "versions" / f"{number}_an_example_change.py"
        assert f"Wrote {path}" in capsys.readouterr().out
        written = path.read_text()
        assert f'revision: str = "{number}"' in written  # formatted by ruff
        assert f'down_revision: str | None = "{head}"' in written
        assert migrate.head() == number
    finally:
        migrate.scripts.cache_clear()
