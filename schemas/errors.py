"""Stable error codes sent in `error` frames, API error bodies and close reasons."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # frames and bodies
    BAD_JSON = "bad_json"
    UNKNOWN_TYPE = "unknown_type"
    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    ILLEGAL_TRANSITION = "illegal_transition"
    RULE_BROKEN = "rule_broken"  # a change to a plan would break one of its rules
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"  # /readyz: the process cannot take phones now
    # sign-in and connection
    AUTH_MISSING = "auth_missing"
    AUTH_INVALID = "auth_invalid"
    AUTH_EXPIRED = "auth_expired"
    AUTH_LOCKED = "auth_locked"
    ACCOUNT_DISABLED = "account_disabled"
    ORIGIN_REFUSED = "origin_refused"  # a browser page of another site (Origin header)


class CloseCode:
    """Websocket close codes the server uses, with the reason sent beside them."""

    NORMAL = 1000
    POLICY = 1008  # flooding
    TOO_BIG = 1009  # frame over realtime.max_message_bytes
    SERVICE_RESTART = 1012  # the server is restarting: reconnect and sync
    TRY_AGAIN = 1013  # too slow to keep up: reconnect and resync
    SESSION_ENDED = 4001  # the session expired or was signed out
