"""Officers' 4-digit PINs: one cancels her alert, the other (duress) escalates it while
her screen shows a cancel.

Hashed with salted scrypt (n=2**14, r=8: 16 MiB, tens of milliseconds), not argon2:
a 4-digit PIN has 10,000 values, so no hash keeps it from someone who has the
database; what protects it is the lockout after wrong PINs (`auth.max_failed_logins`
in a row locks cancelling for `auth.lockout_s`). Verified off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from enum import Enum

PIN_PATTERN = re.compile(r"^[0-9]{4}$")
_N, _R, _P = 2**14, 8, 1


class PinMatch(Enum):
    NONE = "none"
    CANCEL = "cancel"
    DURESS = "duress"


def is_pin(value: str) -> bool:
    return PIN_PATTERN.fullmatch(value) is not None


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin_hash: str, pin: str) -> bool:
    try:
        kind, n, r, p, salt, digest = pin_hash.split("$")
        if kind != "scrypt":
            return False
        found = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(found.hex(), digest)


def _match(cancel_hash: str, duress_hash: str | None, pin: str) -> PinMatch:
    # Both are always checked, so the time taken does not tell which PIN it was.
    duress = duress_hash is not None and verify_pin(duress_hash, pin)
    cancel = verify_pin(cancel_hash, pin)
    if duress:
        return PinMatch.DURESS
    return PinMatch.CANCEL if cancel else PinMatch.NONE


async def match_pin(cancel_hash: str, duress_hash: str | None, pin: str) -> PinMatch:
    return await asyncio.to_thread(_match, cancel_hash, duress_hash, pin)
