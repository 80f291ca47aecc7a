"""Supervisors' second factor: TOTP (RFC 6238, 30 s steps, one step of drift either way,
each step usable once) and ten recovery codes (shown once, stored as SHA-256 hashes,
each usable once). Pure: no database, no clock of its own."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno

ISSUER = "Dispatch"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    uri: str
    qr_svg: str


def new_enrolment(username: str) -> Enrolment:
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff")
    return Enrolment(secret, uri, svg)


def totp_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step this code belongs to, if it is right and newer than `last_step`."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(
            totp.generate_otp(step), code
        ):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes of 16 characters (about 79 bits each), written in groups of four."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def _normal(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def recovery_hash(code: str) -> str:
    return hashlib.sha256(_normal(code).encode("ascii", "replace")).hexdigest()


def hashes_json(codes: list[str]) -> str:
    return json.dumps([recovery_hash(c) for c in codes])


def use_recovery_code(stored: str | None, code: str) -> str | None:
    """The stored hashes without this code's, if it is one of them; else None."""
    if not stored or len(_normal(code)) != 16:
        return None
    hashes: list[str] = json.loads(stored)
    wanted = recovery_hash(code)
    left = [h for h in hashes if not hmac.compare_digest(h, wanted)]
    return json.dumps(left) if len(left) < len(hashes) else None
