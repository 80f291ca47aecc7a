"""Alembic's environment: run only through dispatch.storage.migrate, which hands it a
connection (a sync one, from the async engine's `run_sync`) in `config.attributes`."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import TypeDecorator
from sqlmodel.sql.sqltypes import AutoString

from dispatch.storage.all_models import metadata


def render_item(kind: str, obj: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Revisions name plain SQLAlchemy types: not SQLModel's string, not our decorators."""
    if kind != "type":
        return False
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        return f"sa.{impl!r}"
    return False


connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("dispatch's migrations run through `dispatch db ...`, with a connection")

context.configure(
    connection=connection,
    target_metadata=metadata(),
    render_as_batch=True,  # SQLite alters a table by copying it: batch operations do that
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
