"""A core transaction's last statement: its audit row chained and its events numbered.

Both take a row lock that every writer queues on until its commit (the audit chain's
head, then the event counter), so what matters on the alert path is how many round
trips a transaction makes while it holds them. On PostgreSQL each statement is awaited
and the event loop serves every other phone between two of them: under a burst of
alerts, each round trip inside the locks cost a turn of a busy loop, and the alerts
queued behind one another's turns.

Here, on PostgreSQL, the whole tail is one statement: the chain's head taken, the audit
row's hash computed by the database (`sha256` over the canonical encoding, whose only
unknown part, the previous hash, is spliced in), the row stored, the counter taken and
the events stored, in that order (each step reads the one before, so the locks are
always taken chain first, counter second, as `record_in` then `number_events` do). The
commit is the only other round trip made under the locks.

On SQLite a statement costs no loop turn (the store runs on the loop's thread, one
writer at a time): the plain statements are used.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    BindParameter,
    Connection,
    LargeBinary,
    Text,
    bindparam,
    text,
)

from dispatch.audit.chain import canonical, record_in
from dispatch.audit.models import CHAIN
from dispatch.realtime.events import PendingEvent, StoredEvent
from dispatch.storage import driver_sql
from dispatch.storage.models import EVENT_SEQ, UtcDateTime

_EVENTS_FROM_ARRAYS = """
INSERT INTO event (seq, at, kind, entity_id, payload, officer_id, crew_ids, user_ids)
SELECT n.value - :count + v.ord, :now, v.kind, v.entity_id, v.payload, v.officer_id,
       v.crew_ids, v.user_ids
FROM n, unnest(:kinds, :entity_ids, :payloads, :officer_ids, :crew_ids, :user_ids)
     WITH ORDINALITY AS v(kind, entity_id, payload, officer_id, crew_ids, user_ids, ord)
"""

_NUMBER_EVENTS = (
    """
WITH n AS (
  UPDATE counter SET value = value + :count WHERE name = :counter RETURNING value
), e AS ("""
    + _EVENTS_FROM_ARRAYS
    + """ RETURNING 1)
SELECT (SELECT value FROM n), (SELECT count(*) FROM e)
"""
)


def audit_then_events_ctes(gate: str = "TRUE") -> str:
    """The CTEs `chain_old, chain_new, audit, n, e` (for after a `WITH`): the audit row
    chained and stored, then the counter taken and the events stored. `gate`: an SQL
    condition that must hold before the chain's head is locked at all (an earlier CTE's
    outcome, so that its locks are taken first: the core's order is crews, alert, audit
    chain, counter)."""
    return (
        f"""chain_old AS (
  SELECT head FROM audit_chain WHERE name = :chain AND ({gate}) FOR UPDATE
), chain_new AS (
  UPDATE audit_chain AS c
  SET seq = c.seq + 1,
      head = encode(sha256(:pre || convert_to(chain_old.head, 'UTF8') || :post), 'hex')
  FROM chain_old WHERE c.name = :chain
  RETURNING c.seq, c.head, chain_old.head AS prev
), audit AS (
  INSERT INTO audit_row (seq, at, actor, role, action, object_type, object_id, reason,
                         detail, prev_hash, hash)
  SELECT chain_new.seq, :at, :actor, :role, :action, :object_type, :object_id, :reason,
         :detail, chain_new.prev, chain_new.head
  FROM chain_new RETURNING seq
), n AS (
  UPDATE counter SET value = value + :count
  WHERE name = :counter AND EXISTS (SELECT 1 FROM audit) RETURNING value
), e AS ("""
        + _EVENTS_FROM_ARRAYS
        + " RETURNING 1)"
    )


_AUDIT_THEN_EVENTS = (
    "WITH "
    + audit_then_events_ctes()
    + """
SELECT (SELECT value FROM n), (SELECT count(*) FROM e)
"""
)

_TEXTS = ("kinds", "entity_ids", "payloads", "officer_ids", "crew_ids", "user_ids")
_TYPES: list[BindParameter[Any]] = [bindparam(name, type_=ARRAY(Text)) for name in _TEXTS] + [
    bindparam("count", type_=BigInteger),
    bindparam("now", type_=UtcDateTime()),
]
AUDIT_TYPES: list[BindParameter[Any]] = [
    *_TYPES,
    bindparam("at", type_=UtcDateTime()),
    bindparam("pre", type_=LargeBinary),
    bindparam("post", type_=LargeBinary),
]
NUMBER_EVENTS = text(_NUMBER_EVENTS).bindparams(*_TYPES)
AUDIT_THEN_EVENTS = text(_AUDIT_THEN_EVENTS).bindparams(*AUDIT_TYPES)


def numbered(pending: Sequence[PendingEvent], last: int) -> list[StoredEvent]:
    n = len(pending)
    return [p.numbered(last - n + 1 + i) for i, p in enumerate(pending)]


def spliced(fields: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """The row's canonical encoding on either side of its previous hash (which only the
    database knows, under the lock): `pre + prev + post` is what `chain.digest` hashes."""
    mark = secrets.token_hex(16)
    encoded = canonical(fields, mark)
    pre, post = encoded.split(mark.encode())
    return pre, post


def _arrays(pending: Sequence[PendingEvent]) -> dict[str, list[str | None]]:
    return {
        "kinds": [p.kind for p in pending],
        "entity_ids": [p.entity_id for p in pending],
        "payloads": [p.payload for p in pending],
        "officer_ids": [p.officer_id for p in pending],
        "crew_ids": [" ".join(p.crew_ids) for p in pending],
        "user_ids": [" ".join(p.user_ids) or None for p in pending],
    }


def tail_params(
    now: Any, audit: Mapping[str, Any] | None, pending: Sequence[PendingEvent]
) -> dict[str, Any]:
    """The parameters of `NUMBER_EVENTS`, or with `audit` of `audit_then_events_ctes`."""
    params: dict[str, Any] = {
        "count": len(pending),
        "counter": EVENT_SEQ,
        "now": now,
        **_arrays(pending),
    }
    if audit is not None:
        pre, post = spliced(audit)
        params.update(audit, chain=CHAIN, pre=pre, post=post)
    return params


def finish(
    conn: Connection,
    *,
    now: Any,
    audits: Sequence[Mapping[str, Any]],  # `row_fields`, as `Tx.audit` keeps them
    pending: Sequence[PendingEvent],
    take_numbers: Any,
    store_events: Any,
) -> list[StoredEvent]:
    """Store the transaction's audit rows, then number and store its events. Returns the
    numbered events ([] with none pending)."""
    one_statement = conn.dialect.name == "postgresql" and pending and len(audits) <= 1
    if one_statement:
        params = tail_params(now, audits[0] if audits else None, pending)
        if audits:
            row = conn.execute(AUDIT_THEN_EVENTS, params).one()
        else:
            row = conn.execute(NUMBER_EVENTS, params).one()
        if row[0] is not None and int(row[1]) == len(pending):
            return numbered(pending, int(row[0]))
        # No chain head yet (a database older than the trail): nothing was written.
    for audit in audits:
        record_in(conn, **audit)
    if not pending:
        return []
    last = int(driver_sql.execute(conn, take_numbers, {"b_n": len(pending)}).scalar_one())
    events = numbered(pending, last)
    driver_sql.executemany(conn, store_events, [e.row_values(now) for e in events])
    return events
