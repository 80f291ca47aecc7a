"""A stored row changed at once by one Core UPDATE, its object left with nothing to flush.

The ORM's flush of one changed object costs about 0.4 ms of the event loop here (its
unit of work: the object's history, a dependency sort, the statement built and
compiled): accepting an offer flushed three. `write` sends the UPDATE of the columns
given, compiled once per table and set of columns (`driver_sql`), and sets the same
values on the object without history (`set_committed_value`): the session still holds
it (later reads in the transaction see the new values), with nothing left to write.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, Update, bindparam, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import SQLModel

from dispatch.storage import driver_sql


class RowGone(Exception):
    """The row to change is not stored (any more): a bug in the caller's transaction."""


@cache
def statement(table: Table, names: tuple[str, ...]) -> Update:
    """UPDATE `table` SET each of `names` (parameters v_<name>) WHERE id = :b_id."""
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({table.c[name]: bindparam(f"v_{name}") for name in names})
    )


def write(conn: Connection, obj: SQLModel, values: Mapping[str, Any]) -> None:
    """Store `values` on `obj`'s row (by its `id`) and set them on `obj` as stored."""
    table: Table = obj.__table__  # type: ignore[attr-defined]
    params = {f"v_{name}": value for name, value in values.items()}
    params["b_id"] = obj.id  # type: ignore[attr-defined]
    outcome = driver_sql.execute(conn, statement(table, tuple(values)), params)
    if outcome.rowcount != 1:
        raise RowGone(f"{table.name} {params['b_id']}: not stored")
    for name, value in values.items():
        set_committed_value(obj, name, value)
