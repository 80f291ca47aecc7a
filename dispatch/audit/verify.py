"""Walking the chain: every row's hash recomputed, every link and number checked, from the
purge checkpoint (or the start) to the head. The first bad row is named.

What it proves: no row was changed, removed, added or moved since it was written, unless
whoever did it also rewrote every later hash and the head. Against that, keep the head
hash it prints somewhere else (a daily note, another system): an earlier head that is no
longer in the chain shows the rewrite (`--expect`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlmodel import Session, col, select

from dispatch.audit.chain import Action, digest
from dispatch.audit.models import CHAIN, GENESIS, AuditChain, AuditRow

PAGE = 2000
TRAIL = "audit_trail"  # the object type of a purge of the trail itself


@dataclass(frozen=True)
class Verdict:
    ok: bool
    rows: int
    head: str  # the last good row's hash
    bad_seq: int | None = None
    problem: str = ""
    kind: str = ""  # edited, deleted, inserted_or_moved, head, checkpoint

    def sentence(self) -> str:
        if self.ok:
            return f"The audit trail is whole: {self.rows} rows; head {self.head}"
        return f"The audit trail is broken at row {self.bad_seq}: {self.problem}"


def checkpoint_detail(seq: int, hashed: str) -> str:
    return f"checkpoint {seq}:{hashed}"


def check(rows: Iterable[AuditRow], chain: AuditChain | None, expect: str | None = None) -> Verdict:
    """The verdict on `rows` (in `seq` order) against the head row. Pure."""
    base_seq = chain.base_seq if chain else 0
    prev = chain.base_hash if chain else GENESIS
    expected, count = base_seq + 1, 0
    seen_expect = expect is None or expect == prev
    checkpoint_vouched = base_seq == 0
    for row in rows:
        if row.seq != expected:
            kind = "deleted" if row.seq > expected else "inserted_or_moved"
            return Verdict(
                False,
                count,
                prev,
                expected,
                f"row {expected} is missing (the next is row "
                f"{row.seq}): rows were deleted or renumbered",
                kind,
            )
        if digest(row.model_dump(), row.prev_hash) != row.hash:
            return Verdict(
                False,
                count,
                prev,
                row.seq,
                "its content does not match its hash: it was edited after it was written",
                "edited",
            )
        if row.prev_hash != prev:
            return Verdict(
                False,
                count,
                prev,
                row.seq,
                f"it does not follow row {row.seq - 1}: a row was deleted, inserted or moved here",
                "inserted_or_moved",
            )
        if (
            not checkpoint_vouched
            and row.action == Action.ERASURE
            and row.object_type == TRAIL
            and row.detail == checkpoint_detail(base_seq, prev_of(chain))
        ):
            checkpoint_vouched = True
        prev, expected, count = row.hash, expected + 1, count + 1
        seen_expect = seen_expect or row.hash == expect
    head_seq, head = (chain.seq, chain.head) if chain else (0, GENESIS)
    if expected - 1 != head_seq or prev != head:
        return Verdict(
            False,
            count,
            prev,
            expected,
            f"the chain ends at row {expected - 1} but its head "
            f"is row {head_seq}: rows were removed from the end or added after it",
            "head",
        )
    if not checkpoint_vouched:
        return Verdict(
            False,
            count,
            prev,
            base_seq + 1,
            f"the checkpoint (row {base_seq}) is vouched for "
            "by no erasure row of the trail: the oldest rows were removed outside a purge",
            "checkpoint",
        )
    if not seen_expect:
        return Verdict(
            False,
            count,
            prev,
            None,
            f"the head {expect} given is not in the chain: the chain was rewritten since",
            "rewritten",
        )
    return Verdict(True, count, prev)


def prev_of(chain: AuditChain | None) -> str:
    return chain.base_hash if chain else GENESIS


def _rows(session: Session) -> Iterator[AuditRow]:
    after = -1
    while True:
        page = session.exec(
            select(AuditRow)
            .where(col(AuditRow.seq) > after)
            .order_by(col(AuditRow.seq))
            .limit(PAGE)
        ).all()
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].seq


def verify_in(session: Session, expect: str | None = None) -> Verdict:
    """Walk the stored chain (a consistent read, in the caller's transaction)."""
    return check(_rows(session), session.get(AuditChain, CHAIN), expect)
