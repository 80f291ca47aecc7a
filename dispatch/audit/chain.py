"""Writing the audit trail: one row per act on personal data, chained by SHA-256.

`record_in` runs inside the caller's transaction (a sync `Session` or `Connection`; an
async session goes through `record`), so the row commits or rolls back with the change
it records. It takes the chain's head row-locked (an UPDATE, the same way the event
counter is taken): on PostgreSQL writers queue on that row until the commit, on SQLite
there is one writer at a time anyway. Call it late in the transaction, before the events
are numbered: the lock is then held only for the rest of the transaction, and always
taken before the event counter's (one lock order everywhere, no deadlock).

A row's hash is SHA-256 over a canonical encoding of its fields and the previous row's
hash: compact JSON with sorted keys, times as ISO 8601 UTC with microseconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, insert, update
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.audit.models import CHAIN, GENESIS, AuditChain, AuditRow
from dispatch.storage import driver_sql


class Action(StrEnum):
    """The kinds of processing DPA 2018 s.62 asks to be logged, and access.

    collection: personal data comes in (an alert raised, a track or a live deployment's
      positions starting, an account added).
    alteration: it is changed (an account renamed, disabled, moved, its password reset).
    consultation: someone looks at it (an alert's detail or timeline, a plan, a report,
      the people list).
    disclosure: it goes to someone else (a crew attached to an officer's alert receives
      her position; every export leaves the system as a file).
    combination: it is joined with other data (a plan generated from officers, places
      and times).
    erasure: it is deleted or anonymised (the retention purge).
    sign_in / sign_out: access to the system (not one of s.62's kinds: kept so that
      every other row can be tied to a session).
    """

    COLLECTION = "collection"
    ALTERATION = "alteration"
    CONSULTATION = "consultation"
    DISCLOSURE = "disclosure"
    COMBINATION = "combination"
    ERASURE = "erasure"
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"


SYSTEM = "system"


class Actor(Protocol):
    """Who acts: a `Viewer` fits."""

    @property
    def user_id(self) -> str: ...

    @property
    def role(self) -> str: ...


_CHAIN, _ROWS = AuditChain.__table__, AuditRow.__table__  # type: ignore[attr-defined]
TAKE_HEAD = (
    update(_CHAIN)
    .where(_CHAIN.c.name == CHAIN)
    .values(seq=_CHAIN.c.seq + 1)
    .returning(_CHAIN.c.seq, _CHAIN.c.head)
)
# Built once, their values bound: a statement built per call costs SQLAlchemy a cache
# key over every value, several times the statement's own time on SQLite.
ADD_ROW = insert(_ROWS)
SET_HEAD = update(_CHAIN).where(_CHAIN.c.name == CHAIN).values(head=bindparam("b_head"))
HASHED = ("at", "actor", "role", "action", "object_type", "object_id", "reason", "detail")


def utc_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(fields: Mapping[str, Any], prev_hash: str) -> bytes:
    body = {name: fields.get(name) for name in HASHED}
    body["at"] = utc_text(fields["at"])
    body["prev"] = prev_hash
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(fields: Mapping[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(fields, prev_hash)).hexdigest()


def ensure_chain(conn: Connection) -> None:
    """The head row, made once (start-up; `record_in` also makes it on a fresh database)."""
    if conn.execute(_CHAIN.select().where(_CHAIN.c.name == CHAIN)).first() is None:
        conn.execute(
            insert(_CHAIN).values(name=CHAIN, seq=0, head=GENESIS, base_seq=0, base_hash=GENESIS)
        )


def row_fields(
    *,
    at: datetime,
    actor: str,
    role: str,
    action: Action | str,
    object_type: str,
    object_id: str,
    reason: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """A row's hashed fields as stored: UTC, an `Action`, cut to their columns' sizes."""
    if at.tzinfo is None:
        raise ValueError("naive datetime refused: times are UTC and timezone-aware")
    return {
        "at": at.astimezone(UTC),
        "actor": actor[:64],
        "role": str(role)[:16],
        "action": Action(action).value,
        "object_type": object_type[:32],
        "object_id": object_id[:200],
        "reason": reason[:500] if reason else None,
        "detail": detail[:500] if detail else None,
    }


def record_in(
    target: Session | Connection,
    *,
    at: datetime,
    actor: str,
    role: str,
    action: Action | str,
    object_type: str,
    object_id: str,
    reason: str | None = None,
    detail: str | None = None,
) -> int:
    """Append one row in the caller's transaction. Returns its number."""
    fields = row_fields(
        at=at,
        actor=actor,
        role=role,
        action=action,
        object_type=object_type,
        object_id=object_id,
        reason=reason,
        detail=detail,
    )
    conn = target.connection() if isinstance(target, Session) else target
    taken = driver_sql.execute(conn, TAKE_HEAD, {}).first()
    if taken is None:
        ensure_chain(conn)
        taken = conn.execute(TAKE_HEAD).first()
        assert taken is not None
    seq, prev = int(taken[0]), str(taken[1])
    hashed = digest(fields, prev)
    driver_sql.execute(conn, ADD_ROW, {"seq": seq, "prev_hash": prev, "hash": hashed, **fields})
    driver_sql.execute(conn, SET_HEAD, {"b_head": hashed})
    return seq


def by(actor: Actor | None) -> dict[str, str]:
    """`actor=` and `role=` for `record_in`: a signed-in person, or the system (None)."""
    if actor is None:
        return {"actor": SYSTEM, "role": SYSTEM}
    return {"actor": actor.user_id, "role": str(actor.role)}


async def record(session: AsyncSession, **fields: Any) -> int:
    """`record_in` for an async session (its transaction; the caller commits)."""
    return await session.run_sync(lambda s: record_in(s, **fields))


async def record_by(
    session: AsyncSession,
    actor: Actor | None,
    at: datetime,
    action: Action,
    object_type: str,
    object_id: str,
    detail: str | None = None,
) -> None:
    """A use case's row, in its transaction, by `actor` (None: the system acted: the CLI,
    the demo, a job)."""
    await record(
        session,
        at=at,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
        **by(actor),
    )
