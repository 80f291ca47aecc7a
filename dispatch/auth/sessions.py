"""Sign-in and session tokens. A token is 256 bits from `secrets`, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
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


async def sign_in(
    db: Database, settings: AuthSettings, *, username: str, password: str, now: datetime
) -> tuple[str, Viewer]:
    async with db.session() as s:
        user = (await s.exec(select(User).where(User.username == username))).first()
        if user is None:
            verify_password(DUMMY_HASH, password)
            raise AuthError(ErrorCode.AUTH_INVALID, "Wrong username or password.")
        if user.locked_until is not None and user.locked_until > now:
            raise AuthError(
                ErrorCode.AUTH_LOCKED,
                "Too many failed sign-ins: this account is locked for a while.",
            )
        if not verify_password(user.password_hash, password):
            user.failed_logins += 1
            if user.failed_logins >= settings.max_failed_logins:
                user.locked_until = now + timedelta(seconds=settings.lockout_s)
                user.failed_logins = 0
            s.add(user)
            await s.commit()
            raise AuthError(ErrorCode.AUTH_INVALID, "Wrong username or password.")
        if user.disabled:
            raise AuthError(ErrorCode.ACCOUNT_DISABLED, "This account is disabled.")
        token = secrets.token_urlsafe(32)
        expires = now + timedelta(seconds=settings.session_ttl_s)
        user.failed_logins = 0
        user.locked_until = None
        s.add(user)
        s.add(
            SessionToken(
                token_hash=token_hash(token), user_id=user.id, created_at=now, expires_at=expires
            )
        )
        await s.commit()
        viewer = Viewer(
            user.id, user.username, Role(user.role), user.crew_id, expires, token_hash(token)
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
