"""Builders for the schema tests: a database as the last release without revisions left
it (with rows), the `dispatch` command run as a user runs it, the schema as reflected."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Connection, MetaData, Table, inspect, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from dispatch.storage import migrate

ROOT = Path(__file__).resolve().parent.parent.parent
T0 = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)

# Rows of every kind a working database has, in the baseline's columns only.
ROWS: dict[str, list[dict[str, Any]]] = {
    "crew": [
        {
            "id": "c1",
            "callsign": "ALPHA",
            "mode": "car",
            "state": "assigned",
            "alert_id": "a1",
            "offer_id": "o1",
            "last_lat": 52.05,
            "last_lon": -2.71,
            "last_fix_at": T0,
            "updated_at": T0,
        },
        {"id": "c2", "callsign": "BRAVO", "mode": "foot", "state": "off_duty", "updated_at": T0},
    ],
    "user": [
        {
            "id": "u1",
            "username": "jane",
            "display_name": "Jane Officer",
            "role": "officer",
            "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$x$y",
            "crew_id": None,
            "disabled": False,
            "failed_logins": 0,
            "created_at": T0,
            "cancel_pin_hash": "pin",
        },
        {
            "id": "u2",
            "username": "sam",
            "display_name": "Sam Crew",
            "role": "crew",
            "password_hash": "hash",
            "crew_id": "c1",
            "disabled": False,
            "failed_logins": 1,
            "created_at": T0,
        },
    ],
    "operation": [
        {
            "id": "op1",
            "name": "Night watch",
            "area": "Hereford",
            "timezone": "Europe/London",
            "window_start": T0,
            "window_end": T0 + timedelta(days=28),
            "deployments": 4,
            "min_duration_min": 60,
            "max_duration_min": 120,
            "allowed_hours": "",
            "allowed_weekdays": "",
            "officer_ids": '["u1"]',
            "crew_ids": '["c1"]',
            "officers_per_deployment": 1,
            "crews_per_deployment": 1,
            "place_gap_h": 24.0,
            "rest_h": 12.0,
            "per_officer_per_day": 1,
            "state": "published",
            "warnings": "[]",
            "created_at": T0,
            "updated_at": T0,
        }
    ],
    "place": [
        {
            "id": "p1",
            "operation_id": "op1",
            "name": "Castle Green",
            "lat": 52.05,
            "lon": -2.71,
            "risk": 0.5,
        }
    ],
    "deployment": [
        {
            "id": "d1",
            "operation_id": "op1",
            "place_id": "p1",
            "starts_at": T0,
            "ends_at": T0 + timedelta(hours=2),
            "state": "live",
            "pinned": False,
            "updated_at": T0,
        }
    ],
    "deploymentmember": [{"id": 1, "deployment_id": "d1", "user_id": "u1", "crew_id": None}],
    "alert": [
        {
            "id": "a1",
            "officer_id": "u1",
            "state": "assigned",
            "urgent": True,
            "crews_needed": 1,
            "note": "by the bandstand",
            "lat": 52.0565,
            "lon": -2.716,
            "accuracy": 12.0,
            "raised_at": T0 + timedelta(minutes=5),
            "updated_at": T0 + timedelta(minutes=6),
            "deployment_id": "d1",
        },
        {
            "id": "a2",
            "officer_id": "u1",
            "state": "resolved",
            "urgent": False,
            "crews_needed": 1,
            "lat": 52.06,
            "lon": -2.72,
            "raised_at": T0,
            "updated_at": T0,
            "closed_at": T0 + timedelta(minutes=30),
            "outcome": "resolved",
        },
    ],
    "offer": [
        {
            "id": "o1",
            "alert_id": "a1",
            "crew_id": "c1",
            "state": "accepted",
            "created_at": T0 + timedelta(minutes=5),
            "deadline": T0 + timedelta(minutes=6),
            "distance_m": 420.0,
            "eta_s": 60.0,
            "assignment_status": "en_route",
            "accepted_at": T0 + timedelta(minutes=5, seconds=20),
        }
    ],
    "alerttrack": [
        {"id": 1, "alert_id": "a1", "lat": 52.0566, "lon": -2.7161, "at": T0 + timedelta(minutes=5)}
    ],
    "alertnote": [
        {"id": 1, "alert_id": "a1", "at": T0, "user_id": None, "action": "urgent", "text": ""}
    ],
    "event": [
        {
            "seq": 1,
            "at": T0,
            "kind": "alert",
            "entity_id": "a1",
            "payload": '{"id": "a1"}',
            "officer_id": "u1",
            "crew_ids": "c1",
        },
        {
            "seq": 2,
            "at": T0,
            "kind": "offer",
            "entity_id": "o1",
            "payload": '{"id": "o1"}',
            "crew_ids": "c1",
        },
    ],
    "sessiontoken": [{"token_hash": "f" * 64, "user_id": "u1", "created_at": T0, "expires_at": T0}],
    "audit_row": [
        {
            "seq": 1,
            "at": T0,
            "actor": "u2",
            "role": "crew",
            "action": "accept",
            "object_type": "alert",
            "object_id": "a1",
            "prev_hash": "0" * 64,
            "hash": "a" * 64,
        }
    ],
    "audit_chain": [
        {"name": "main", "seq": 1, "head": "a" * 64, "base_seq": 0, "base_hash": "0" * 64}
    ],
}
COUNTER = 2  # the event counter, at the last event's seq


async def make_previous_release(url: str, *, rows: bool = True) -> None:
    """A database as the last release without revisions made it: the baseline's tables
    (revision 0001's DDL), no `alembic_version`, and `ROWS` in it."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_baseline_without_stamp, rows)
    finally:
        await engine.dispose()


def _baseline_without_stamp(conn: Connection, rows: bool) -> None:
    command.upgrade(migrate.config(conn), migrate.BASELINE)
    conn.execute(text(f"DROP TABLE {migrate.VERSION_TABLE}"))
    if not rows:
        return
    meta = MetaData()
    for name, table_rows in ROWS.items():
        table = Table(name, meta, autoload_with=conn)
        for row in table_rows:
            conn.execute(table.insert().values(row))
    counter = Table("counter", meta, autoload_with=conn)
    conn.execute(counter.update().values(value=COUNTER))


async def read_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """`ROWS`' tables as the database has them: their columns in `ROWS`, by key."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_read_rows)
    finally:
        await engine.dispose()


def _read_rows(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    meta = MetaData()
    found: dict[str, list[dict[str, Any]]] = {}
    for name, table_rows in [*ROWS.items(), ("counter", [{"name": "", "value": 0}])]:
        table = Table(name, meta, autoload_with=conn)
        keys = list(dict.fromkeys(k for row in table_rows for k in row))
        result = conn.execute(select(*(table.c[k] for k in keys)).order_by(table.c[keys[0]]))
        found[name] = [dict(row._mapping) for row in result]
    return found


def as_stored(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as a database gives them back: times in UTC without their zone on SQLite
    (its DATETIME keeps none) are compared as such, missing columns as NULL."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    return [{k: row.get(k) for k in keys} for row in rows]


def same_times(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a.replace(tzinfo=None) == b.astimezone(UTC).replace(tzinfo=None)
    return bool(a == b)


def schema_of(conn: Connection) -> dict[str, Any]:
    """Every table's columns, keys and indexes, as reflected (the version table aside).
    Columns by name: a revision adds a column at the end of its table, while `create_all`
    puts it where the model has it, and the order means nothing to the code."""
    seen = inspect(conn)
    schema: dict[str, Any] = {}
    for table in sorted(set(seen.get_table_names()) - {migrate.VERSION_TABLE}):
        schema[table] = {
            "columns": sorted(
                (c["name"], repr(c["type"]), c["nullable"], str(c.get("default")))
                for c in seen.get_columns(table)
            ),
            "primary_key": seen.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in seen.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in seen.get_indexes(table)
            ),
            "unique": sorted(tuple(u["column_names"]) for u in seen.get_unique_constraints(table)),
        }
    return schema


def dispatch_cli(*args: str, url: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`dispatch ARGS` on the database at `url`, as a user runs it."""
    env = {**os.environ, "DISPATCH_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "dispatch.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def run_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(dispatch_cli, *args, url=url)
