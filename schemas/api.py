"""Bodies of the REST API."""

from __future__ import annotations

from pydantic import Field

from schemas.common import Model, Role, UtcDateTime
from schemas.errors import ErrorCode


class SignIn(Model):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class SessionInfo(Model):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; also set as a cookie.")
    expires_at: UtcDateTime
    user_id: str
    username: str
    role: Role
    crew_id: str | None


class Me(Model):
    """Who this session is (GET /api/session)."""

    user_id: str
    username: str
    role: Role
    crew_id: str | None
    expires_at: UtcDateTime


class ApiError(Model):
    code: ErrorCode
    message: str
