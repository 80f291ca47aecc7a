"""The audit trail's tables: an append-only, hash-chained log, and the chain's head.

`AuditRow` is written only by `dispatch.audit.chain.record_in`, in the transaction of the
change it records; rows are never updated, and deleted only by the retention purge, from
the oldest on (see `dispatch.audit.retention`). `AuditChain` holds one row: the chain's
head (the last row's number and hash), taken row-locked by every writer so that rows
are numbered and chained in commit order, and the checkpoint left by a purge of the
trail itself (the number and hash of the last purged row), where `verify` starts.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from dispatch.storage.models import utc_column

GENESIS = "0" * 64  # the "previous hash" of the first row
CHAIN = "main"


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit_row"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = utc_column(index=True)
    actor: str = Field(max_length=64, index=True)  # a user id, or "system"
    role: str = Field(max_length=16)  # the actor's role then, or "system"
    action: str = Field(max_length=16, index=True)  # an `Action`
    object_type: str = Field(max_length=32, index=True)
    object_id: str = Field(max_length=200, index=True)
    reason: str | None = Field(default=None, max_length=500)  # as the user gave it
    detail: str | None = Field(default=None, max_length=500)  # e.g. "to crew ALPHA"
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditChain(SQLModel, table=True):
    __tablename__ = "audit_chain"
    name: str = Field(primary_key=True, max_length=16)
    seq: int = 0  # the last row's number
    head: str = Field(default=GENESIS, max_length=64)  # the last row's hash
    base_seq: int = 0  # the last purged row's number (0: nothing purged)
    base_hash: str = Field(default=GENESIS, max_length=64)  # and its hash
