"""Writing rows from the request edges (sign-in, sign-out, views and exports): each in a
transaction of its own, since these change nothing else (a view) or happen where the
change is made by code that cannot take the row (the sign-in lives in dispatch.auth)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from dispatch.audit.chain import Action, Actor, by, record
from dispatch.storage.db import Database
from dispatch.storage.models import SessionToken, User


async def record_alone(
    db: Database,
    who: Actor | None,
    *,
    at: datetime,
    action: Action,
    object_type: str,
    object_id: str,
    reason: str | None = None,
    detail: str | None = None,
) -> None:
    """One row in its own transaction."""
    async with db.session() as s:
        await record(
            s,
            at=at,
            action=action,
            object_type=object_type,
            object_id=object_id,
            reason=reason,
            detail=detail,
            **by(who),
        )
        await s.commit()


async def signing_out(db: Database, session_hash: str, *, at: datetime) -> None:
    """The sign-out of the session with this token hash (before its token goes)."""
    async with db.session() as s:
        row = (
            await s.exec(
                select(SessionToken.user_id, User.role)
                .join(User, User.id == SessionToken.user_id)  # type: ignore[arg-type]
                .where(SessionToken.token_hash == session_hash)
            )
        ).first()
        if row is None:
            return  # no such session: nothing to sign out of
        user_id, role = row
        await record(
            s,
            at=at,
            actor=user_id,
            role=role,
            action=Action.SIGN_OUT,
            object_type="session",
            object_id=user_id,
        )
        await s.commit()
