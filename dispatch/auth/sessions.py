"""Sign-in and session tokens. A token is 256 bits from `secrets`, stored only as a hash."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, delete, select

from dispatch.auth.passwords import DUMMY_HASH, verify_password
from dispatch.config import AuthSettings
from dispatch.storage.db import Database
from dispatch.storage.models import SessionToken, User
from schemas.common import Role
from schemas.errors import ErrorCode

COOKIE_NAME = "dispatch_session"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is on the other end of a request or socket."""

    user_id: str
    username: str
    role: Role
    crew_id: str | None
    expires_at: datetime
    session_hash: str  # which sign-in this is, so that signing out can close its sockets


class AuthError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# argon2 is memory-hard and takes a good part of a second of CPU: it runs in worker
# threads (it releases the GIL), one core fewer than the machine has, never on the loop,
# so that sign-ins at a shift change do not delay alerts.
_HASHING = threading.BoundedSemaphore(max(1, (os.cpu_count() or 2) - 1))


def _verify_limited(password_hash: str, password: str) -> bool:
    with _HASHING:
        return verify_password(password_hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(_verify_limited, password_hash, password)


async def sign_in(
    db: Database, settings: AuthSettings, *, username: str, password: str, now: datetime
) -> tuple[str, Viewer]:
    # Read, close the transaction, then hash: no database lock is held while hashing.
    async with db.session() as s:
        user = (await s.exec(select(User).where(User.username == username))).first()
    if user is None:
        await _verify(DUMMY_HASH, password)
        raise AuthError(ErrorCode.AUTH_INVALID, "Wrong username or password.")
    if user.locked_until is not None and user.locked_until > now:
        raise AuthError(
            ErrorCode.AUTH_LOCKED, "Too many failed sign-ins: this account is locked for a while."
        )
    good = await _verify(user.password_hash, password)
    async with db.session() as s:
        fresh = await s.get(User, user.id)
        if fresh is None or fresh.password_hash != user.password_hash:
            # Gone, or its password was reset while this one was being checked.
            raise AuthError(ErrorCode.AUTH_INVALID, "Wrong username or password.")
        if not good:
            fresh.failed_logins += 1
            if fresh.failed_logins >= settings.max_failed_logins:
                fresh.locked_until = now + timedelta(seconds=settings.lockout_s)
                fresh.failed_logins = 0
            s.add(fresh)
            await s.commit()
            raise AuthError(ErrorCode.AUTH_INVALID, "Wrong username or password.")
        if fresh.disabled:
            raise AuthError(ErrorCode.ACCOUNT_DISABLED, "This account is disabled.")
        token = secrets.token_urlsafe(32)
        expires = now + timedelta(seconds=settings.session_ttl_s)
        fresh.failed_logins, fresh.locked_until = 0, None
        s.add(fresh)
        s.add(
            SessionToken(
                token_hash=token_hash(token), user_id=fresh.id, created_at=now, expires_at=expires
            )
        )
        await s.commit()
        viewer = Viewer(
            fresh.id, fresh.username, Role(fresh.role), fresh.crew_id, expires, token_hash(token)
        )
        return token, viewer


async def authenticate(db: Database, token: str | None, *, now: datetime) -> Viewer:
    if not token:
        raise AuthError(ErrorCode.AUTH_MISSING, "Sign in first: no session token was sent.")
    async with db.session() as s:
        row = await s.get(SessionToken, token_hash(token))
        if row is None:
            raise AuthError(ErrorCode.AUTH_INVALID, "The session token is not valid.")
        if row.expires_at <= now:
            raise AuthError(ErrorCode.AUTH_EXPIRED, "The session has expired: sign in again.")
        user = await s.get(User, row.user_id)
        if user is None or user.disabled:
            raise AuthError(ErrorCode.ACCOUNT_DISABLED, "This account is disabled.")
        return Viewer(
            user.id, user.username, Role(user.role), user.crew_id, row.expires_at, row.token_hash
        )


async def sign_out(db: Database, token: str) -> str:
    """End the session. Returns its hash, so that the sockets it opened can be closed."""
    hashed = token_hash(token)
    async with db.session() as s:
        await s.exec(delete(SessionToken).where(col(SessionToken.token_hash) == hashed))
        await s.commit()
    return hashed
