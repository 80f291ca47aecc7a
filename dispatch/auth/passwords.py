"""Passwords hashed with argon2id (memory-hard).

64 MiB and 3 passes, as argon2-cffi's defaults, but one lane: the default four
lanes spread one verification over every core of a small server, and the event
loop that carries alerts must keep a core while a shift signs in. A hash keeps
its own parameters, so hashes made with other settings still verify.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verified against when the username is unknown, so both paths cost the same.
DUMMY_HASH = hash_password("dispatch-no-such-user")
