"""The schema's revisions as a user meets them: a database of the last release without
revisions is stamped and upgraded with its rows kept; the server refuses a database
behind the code and names the command; `dispatch db current` says where it stands."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from dispatch.storage import migrate
from dispatch.storage.db import Database
from tests.storage.support import (
    COUNTER,
    ROWS,
    as_stored,
    make_previous_release,
    read_rows,
    run_cli,
    same_times,
)
from tests.support import fresh_database

KINDS = ["sqlite", "postgres"]


@pytest.mark.parametrize("kind", KINDS)
async def test_previous_release_database_is_stamped_and_upgraded_with_its_rows(
    kind: str, tmp_path: Path
) -> None:
    async with fresh_database(kind, tmp_path) as url:
        await make_previous_release(url)
        db = Database(url)
        try:
            before = await db.schema_state()
            assert before.unversioned and not before.current

            out = await run_cli("db", "upgrade", url=url)
            assert out.returncode == 0, out.stderr
            assert f"stamped {migrate.BASELINE}" in out.stdout

            after = await db.schema_state()
            assert after.current and after.revision == migrate.head()
            await db.create_tables()  # the server's start: at the head, nothing refused
        finally:
            await db.close()
        found = await read_rows(url)
        for table, rows in ROWS.items():
            expected = as_stored(rows)
            assert len(found[table]) == len(expected), table
            for got, want in zip(found[table], expected, strict=True):
                for key, value in want.items():
                    assert same_times(got[key], value), (table, key, got[key], value)
        assert found["counter"] == [{"name": "event_seq", "value": COUNTER}]

        again = await run_cli("db", "upgrade", url=url)
        assert again.returncode == 0, again.stderr
        assert "nothing to do" in again.stdout


@pytest.mark.parametrize("kind", KINDS)
async def test_server_refuses_a_database_behind_the_code_and_names_the_command(
    kind: str, tmp_path: Path
) -> None:
    async with fresh_database(kind, tmp_path) as url:
        await make_previous_release(url)
        db = Database(url)
        try:
            with pytest.raises(migrate.SchemaError, match="dispatch db upgrade"):
                await db.create_tables()
            assert (await db.schema_state()).unversioned  # refused: nothing changed
        finally:
            await db.close()

        config = tmp_path / "site.toml"
        config.write_text("")
        out = await run_cli("--config", str(config), "serve", "--port", "0", url=url)
        assert out.returncode == 2
        assert out.stdout == ""  # refused before it says it serves
        assert "Traceback" not in out.stderr
        assert "made by an earlier release" in out.stderr
        assert f"run `dispatch --config {config} db upgrade`" in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1

        current = await run_cli("db", "current", url=url)
        assert current.returncode == 1
        assert "behind the code: run `dispatch db upgrade`" in current.stdout


async def test_a_revision_this_release_does_not_know_is_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/newer.db"
    db = Database(url)
    await db.create_tables()
    async with db.engine.begin() as conn:  # as a newer release would leave it
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    await db.close()
    for args in (("serve", "--port", "0"), ("db", "upgrade")):
        out = await run_cli(*args, url=url)
        assert out.returncode == 2, args
        assert "revision 9999, which this release does not know" in out.stderr
        assert "Traceback" not in out.stderr


async def test_tables_not_the_previous_releases_are_not_stamped(tmp_path: Path) -> None:
    path = tmp_path / "older.db"
    url = f"sqlite+aiosqlite:///{path}"
    await make_previous_release(url, rows=False)
    with sqlite3.connect(path) as conn:  # as an older release left it
        conn.execute("DROP INDEX ix_alert_deployment_id")
        conn.execute("ALTER TABLE alert DROP COLUMN deployment_id")
    out = await run_cli("db", "upgrade", url=url)
    assert out.returncode == 2
    assert "alert lacks deployment_id" in out.stderr
    assert "Traceback" not in out.stderr
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert migrate.VERSION_TABLE not in tables


@pytest.mark.parametrize("kind", KINDS)
async def test_an_empty_database_is_made_at_the_head(kind: str, tmp_path: Path) -> None:
    async with fresh_database(kind, tmp_path) as url:
        current = await run_cli("db", "current", url=url)
        assert current.returncode == 0, current.stderr
        assert "an empty database" in current.stdout

        db = Database(url)
        try:
            await db.create_tables()
            await db.create_tables()  # again: at the head, left alone
            state = await db.schema_state()
            assert state.current and not state.empty
            async with db.engine.connect() as conn:
                counters: Any = (await conn.execute(text("SELECT name, value FROM counter"))).all()
            assert [tuple(row) for row in counters] == [("event_seq", 0)]
        finally:
            await db.close()

        out = await run_cli("db", "current", url=url)
        assert out.returncode == 0, out.stderr
        assert f"database: {migrate.head()}" in out.stdout and "up to date" in out.stdout


async def test_db_upgrade_makes_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/new.db"
    out = await run_cli("db", "upgrade", url=url)
    assert out.returncode == 0, out.stderr
    assert f"made at revision {migrate.head()}" in out.stdout
    db = Database(url)
    try:
        assert (await db.schema_state()).current
    finally:
        await db.close()
