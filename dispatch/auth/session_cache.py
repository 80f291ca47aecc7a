"""Signed-in sessions in memory, so that a storm of reconnecting phones reads nothing
from the database. The database stays the truth: a miss is read from it, and every
process forgets a session as soon as it is ended (signed out, disabled, password
reset, moved to another crew), through the hub's sessions channel, and remembers for a
while that it ended: a read already in flight when it ended cannot cache it again."""

from __future__ import annotations

import time
from datetime import datetime

from sqlmodel import col, select

from dispatch.auth.sessions import AuthError, Viewer, authenticate, token_hash
from dispatch.storage.db import Database
from dispatch.storage.models import SessionToken, User
from schemas.common import Role
from schemas.errors import ErrorCode

MAX_CACHED = 100_000
ENDED_KEPT_S = 600.0  # far longer than any read of a session can be in flight


class SessionCache:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._viewers: dict[str, Viewer] = {}
        self._ended: dict[str, float] = {}  # session hash -> when it ended (monotonic)

    def __len__(self) -> int:
        return len(self._viewers)

    async def preload(self, now: datetime) -> None:
        """Every live session of an enabled user (after a restart, before phones return)."""
        async with self.db.session() as s:
            rows = await s.exec(
                select(SessionToken, User)
                .join(User, col(User.id) == col(SessionToken.user_id))
                .where(col(SessionToken.expires_at) > now, col(User.disabled).is_(False))
                .limit(MAX_CACHED)
            )
            for token, user in rows.all():
                self._viewers[token.token_hash] = Viewer(
                    user.id,
                    user.username,
                    Role(user.role),
                    user.crew_id,
                    token.expires_at,
                    token.token_hash,
                    token.created_at,
                )

    async def viewer(self, token: str | None, *, now: datetime) -> Viewer:
        if not token:
            raise AuthError(ErrorCode.AUTH_MISSING, "Sign in first: no session token was sent.")
        hashed = token_hash(token)
        viewer = self._viewers.get(hashed)
        if viewer is None:
            viewer = await self._read(hashed, token, now)
            if len(self._viewers) >= MAX_CACHED:
                self._viewers.pop(next(iter(self._viewers)))
            self._viewers[hashed] = viewer
        if viewer.expires_at <= now:
            # Another process may have moved a console session on: the database says.
            self._viewers.pop(hashed, None)
            viewer.expires_at = (await self._read(hashed, token, now)).expires_at
            self._viewers[hashed] = viewer
        return viewer

    async def _read(self, hashed: str, token: str, now: datetime) -> Viewer:
        if hashed not in self._ended:
            viewer = await authenticate(self.db, token, now=now)
            if hashed not in self._ended:  # not ended while it was read
                return viewer
        raise AuthError(ErrorCode.AUTH_INVALID, "The session token is not valid.")

    async def stored_expiry(self, session_hash: str) -> datetime | None:
        """The session's expiry as the database has it now (None: ended)."""
        async with self.db.session() as s:
            row = await s.get(SessionToken, session_hash)
            return None if row is None else row.expires_at

    def forget(self, session_hash: str) -> None:
        self._viewers.pop(session_hash, None)

    def end(self, session_hash: str) -> None:
        """The session's row is gone (signed out, disabled, reset, moved): forget it, and
        refuse it from now on even where a read of it was already under way."""
        self.forget(session_hash)
        at = time.monotonic()
        while self._ended:
            oldest = next(iter(self._ended))
            if self._ended[oldest] > at - ENDED_KEPT_S:
                break
            del self._ended[oldest]
        self._ended.pop(session_hash, None)
        self._ended[session_hash] = at  # the newest last, so that the oldest go first

    def ended(self, session_hash: str) -> bool:
        return session_hash in self._ended
