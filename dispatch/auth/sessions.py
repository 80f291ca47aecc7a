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
from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.auth.passwords import DUMMY_HASH, verify_password
from dispatch.auth.second_factor import (
    Enrolment,
    hashes_json,
    new_enrolment,
    new_recovery_codes,
    totp_step,
    use_recovery_code,
)
from dispatch.auth.secret_box import open_box, seal
from dispatch.auth.throttle import Backoff, SourceThrottle, retry_after_s
from dispatch.config import AuthSettings
from dispatch.storage.db import Database
from dispatch.storage.models import SessionToken, User
from schemas.common import Role
from schemas.errors import ErrorCode

COOKIE_NAME = "dispatch_session"


@dataclass(slots=True, eq=False)
class Viewer:
    """Who is on the other end of a request or socket. `expires_at` moves on while a
    console session is in use (one object, shared by the cache and the sockets)."""

    user_id: str
    username: str
    role: Role
    crew_id: str | None
    expires_at: datetime
    session_hash: str  # which sign-in this is, so that signing out can close its sockets
    created_at: datetime | None = None


class AuthError(Exception):
    def __init__(
        self, code: ErrorCode | str, message: str, *, retry_after_s: int | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.retry_after_s = code, message, retry_after_s


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


WRONG = "Wrong username or password."


def account_rule(settings: AuthSettings) -> Backoff:
    return Backoff(
        settings.max_failed_logins,
        settings.backoff_base_s,
        settings.backoff_max_s,
        settings.throttle_forget_s,
    )


def source_rule(settings: AuthSettings) -> Backoff:
    return Backoff(
        settings.source_free_failures,
        settings.backoff_base_s,
        settings.source_backoff_max_s,
        settings.throttle_forget_s,
    )


def _check_source(sources: SourceThrottle, source: str, now: datetime) -> None:
    allowed = sources.wait_until(source, now)
    if allowed is not None:
        wait = retry_after_s(allowed, now)
        raise AuthError(
            ErrorCode.RATE_LIMITED,
            f"Too many failed sign-ins from this address: try again in {wait} s.",
            retry_after_s=wait,
        )


def _check_account(user: User, rule: Backoff, now: datetime) -> None:
    """Refuse if the account must still wait; forget failures that are old enough."""
    if user.locked_until is None:
        return
    if user.locked_until > now:
        wait = retry_after_s(user.locked_until, now)
        raise AuthError(
            ErrorCode.AUTH_LOCKED,
            f"Too many failed sign-ins for this account: try again in {wait} s.",
            retry_after_s=wait,
        )
    if rule.forgotten(user.locked_until, now):
        user.failed_logins, user.locked_until = 0, None


def _count_failure(user: User, rule: Backoff, now: datetime) -> None:
    user.failed_logins += 1
    user.locked_until = rule.next_allowed(user.failed_logins, now)


@dataclass(frozen=True, slots=True)
class SecondStep:
    """The password was right; a supervisor's code comes next (or her enrolment)."""

    challenge: str
    expires_at: datetime
    enrolment: Enrolment | None  # set when she has no second factor yet


async def sign_in(
    db: Database,
    settings: AuthSettings,
    *,
    username: str,
    password: str,
    now: datetime,
    source: str = "",
    sources: SourceThrottle | None = None,
) -> tuple[str, Viewer] | SecondStep:
    """Password step. An attempt is counted as a failure of its account before the slow
    hash (so that parallel guesses are throttled too) and taken back if it was right."""
    sources = sources or SourceThrottle(source_rule(settings))
    rule = account_rule(settings)
    _check_source(sources, source, now)
    async with db.session() as s:
        user = (await s.exec(select(User).where(User.username == username))).first()
        if user is not None:
            _check_account(user, rule, now)
            before = (user.failed_logins, user.locked_until)
            _count_failure(user, rule, now)
            s.add(user)
            await s.commit()
    if user is None:
        await _verify(DUMMY_HASH, password)
        sources.failed(source, now)
        raise AuthError(ErrorCode.AUTH_INVALID, WRONG)
    good = await _verify(user.password_hash, password)
    async with db.session() as s:
        fresh = await s.get(User, user.id)
        if fresh is None or fresh.password_hash != user.password_hash:
            # Gone, or its password was reset while this one was being checked.
            raise AuthError(ErrorCode.AUTH_INVALID, WRONG)
        if not good:
            sources.failed(source, now)
            raise AuthError(ErrorCode.AUTH_INVALID, WRONG)
        if fresh.disabled:
            raise AuthError(ErrorCode.ACCOUNT_DISABLED, "This account is disabled.")
        if fresh.role == Role.SUPERVISOR and settings.supervisor_second_factor:
            # Not signed in yet: take back this attempt's failure, and wait for the code.
            fresh.failed_logins = max(0, fresh.failed_logins - 1)
            fresh.locked_until = before[1] if fresh.failed_logins == before[0] else None
            challenge = secrets.token_urlsafe(32)
            fresh.second_step_hash = token_hash(challenge)
            fresh.second_step_until = now + timedelta(seconds=settings.second_factor_step_s)
            enrolment = None
            if fresh.totp_enrolled_at is None:
                enrolment = new_enrolment(fresh.username)
                fresh.totp_secret = seal(enrolment.secret, settings.secret_key)
            s.add(fresh)
            await s.commit()
            return SecondStep(challenge, fresh.second_step_until, enrolment)
        token, viewer = _open_session(s, fresh, settings, now)
        await s.commit()
        return token, viewer


def _open_session(
    s: AsyncSession, user: User, settings: AuthSettings, now: datetime
) -> tuple[str, Viewer]:
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=settings.session_ttl_s)
    if user.role == Role.SUPERVISOR:
        expires = now + timedelta(seconds=min(settings.console_idle_s, settings.console_max_s))
    user.failed_logins, user.locked_until = 0, None
    s.add(user)
    s.add(
        SessionToken(
            token_hash=token_hash(token), user_id=user.id, created_at=now, expires_at=expires
        )
    )
    viewer = Viewer(
        user.id, user.username, Role(user.role), user.crew_id, expires, token_hash(token), now
    )
    return token, viewer


WRONG_CODE = "Wrong code: enter the 6 digits your app shows now, or a recovery code."
LAPSED = "The sign-in took too long: enter your password again."


async def second_step(
    db: Database,
    settings: AuthSettings,
    *,
    challenge: str,
    code: str,
    now: datetime,
    source: str = "",
    sources: SourceThrottle | None = None,
) -> tuple[str, Viewer, list[str] | None]:
    """Code step: a TOTP code (or a recovery code) after the password. At enrolment, the
    first right code confirms the secret and the recovery codes are made (returned once)."""
    sources = sources or SourceThrottle(source_rule(settings))
    rule = account_rule(settings)
    _check_source(sources, source, now)
    async with db.session() as s:
        hashed = token_hash(challenge)
        user = (await s.exec(select(User).where(User.second_step_hash == hashed))).first()
        if user is None or user.second_step_until is None or user.second_step_until <= now:
            sources.failed(source, now)
            raise AuthError(ErrorCode.AUTH_EXPIRED, LAPSED)
        _check_account(user, rule, now)
        if user.disabled:
            raise AuthError(ErrorCode.ACCOUNT_DISABLED, "This account is disabled.")
        secret = open_box(user.totp_secret, settings.secret_key) if user.totp_secret else None
        step = totp_step(secret, code, now, user.totp_last_step) if secret else None
        recovery: list[str] | None = None
        if step is not None:
            user.totp_last_step = step
            if user.totp_enrolled_at is None:
                user.totp_enrolled_at = now
                recovery = new_recovery_codes()
                user.recovery_hashes = hashes_json(recovery)
        else:
            left = (
                None
                if user.totp_enrolled_at is None
                else use_recovery_code(user.recovery_hashes, code)
            )
            if left is None:
                _count_failure(user, rule, now)
                s.add(user)
                await s.commit()
                sources.failed(source, now)
                raise AuthError(ErrorCode.AUTH_INVALID, WRONG_CODE)
            user.recovery_hashes = left
        user.second_step_hash, user.second_step_until = None, None
        token, viewer = _open_session(s, user, settings, now)
        await s.commit()
        return token, viewer, recovery


async def touch(db: Database, settings: AuthSettings, viewer: Viewer, now: datetime) -> None:
    """A console session in use lives on `console_idle_s` from now, never past
    `console_max_s` after its sign-in. Written at most once a minute."""
    if viewer.role != Role.SUPERVISOR or viewer.created_at is None:
        return
    hard = viewer.created_at + timedelta(seconds=settings.console_max_s)
    wanted = min(now + timedelta(seconds=settings.console_idle_s), hard)
    if abs((wanted - viewer.expires_at).total_seconds()) < min(60, settings.console_idle_s / 10):
        return
    async with db.session() as s:
        row = await s.get(SessionToken, viewer.session_hash)
        if row is None:
            return
        row.expires_at = wanted
        s.add(row)
        await s.commit()
    viewer.expires_at = wanted


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
            user.id,
            user.username,
            Role(user.role),
            user.crew_id,
            row.expires_at,
            row.token_hash,
            row.created_at,
        )


async def sign_out(db: Database, token: str) -> str:
    """End the session. Returns its hash, so that the sockets it opened can be closed."""
    hashed = token_hash(token)
    async with db.session() as s:
        await s.exec(delete(SessionToken).where(col(SessionToken.token_hash) == hashed))
        await s.commit()
    return hashed
