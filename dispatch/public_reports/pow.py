"""Proof of work for the public's reports, needing no third-party service.

The server hands out a challenge it signed (HMAC-SHA256 with its own key): a version, the
time it was issued, the number of zero bits asked for, and 16 random bytes. The page finds
a nonce such that SHA-256 of "challenge:nonce" starts with that many zero bits and sends
both with its report. The server checks the signature, the age and the bits, and spends
the challenge: each is good for one report. Pure code: the caller passes the time, the
key and the random bytes; `SpentChallenges` is the only state.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

VERSION = "v1"
TAG_BYTES = 16
NONCE = re.compile(r"[0-9a-z]{1,16}")
CHALLENGE = re.compile(r"v1\.([0-9]{1,12})\.([0-9]{1,2})\.([0-9a-f]{32})\.([0-9a-f]{32})")
CLOCK_SLACK_S = 60  # a challenge "issued" later than this after now is not ours


def derive_key(secret: str, purpose: bytes = b"public-report-challenge") -> bytes:
    """A key of its own for the challenges, from a server secret (auth.secret_key)."""
    return hmac.new(secret.encode("utf-8"), purpose, hashlib.sha256).digest()


def _tag(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()[:TAG_BYTES].hex()


def issue(key: bytes, *, now: datetime, bits: int, random_bytes: bytes) -> str:
    """A signed challenge: v1.<issued unix s>.<bits>.<32 hex random>.<32 hex tag>."""
    if len(random_bytes) != 16 or not 0 <= bits <= 99:
        raise ValueError("16 random bytes and 0..99 bits")
    body = f"{VERSION}.{int(now.timestamp())}.{bits}.{random_bytes.hex()}"
    return f"{body}.{_tag(key, body)}"


def leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def work_digest(challenge: str, nonce: str) -> bytes:
    return hashlib.sha256(f"{challenge}:{nonce}".encode("ascii")).digest()


def solve(challenge: str, bits: int, *, start: int = 0) -> str:
    """The first nonce (base 36) from `start` that does the work; tests and the benchmark."""
    n = start
    while True:
        nonce = _base36(n)
        if leading_zero_bits(work_digest(challenge, nonce)) >= bits:
            return nonce
        n += 1


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


@dataclass(frozen=True, slots=True)
class Solved:
    """A challenge whose work is done: its random part (its identity) and when it lapses."""

    ident: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Failed:
    code: str  # pow_invalid | pow_expired | pow_used (the last from SpentChallenges)


def check(
    key: bytes, challenge: object, nonce: object, *, now: datetime, ttl_s: float, min_bits: int
) -> Solved | Failed:
    """Whether `nonce` does the work of a challenge this key signed, still in time."""
    if not isinstance(challenge, str) or not isinstance(nonce, str):
        return Failed("pow_invalid")
    match = CHALLENGE.fullmatch(challenge)
    if match is None or NONCE.fullmatch(nonce) is None:
        return Failed("pow_invalid")
    issued_s, bits_text, ident, tag = match.groups()
    body = challenge.rsplit(".", 1)[0]
    if not hmac.compare_digest(tag, _tag(key, body)):
        return Failed("pow_invalid")
    issued = datetime.fromtimestamp(int(issued_s), tz=now.tzinfo)
    expires_at = issued + timedelta(seconds=ttl_s)
    if issued > now + timedelta(seconds=CLOCK_SLACK_S):
        return Failed("pow_invalid")
    if now > expires_at:
        return Failed("pow_expired")
    bits = int(bits_text)
    if bits < min_bits or leading_zero_bits(work_digest(challenge, nonce)) < bits:
        return Failed("pow_invalid")
    return Solved(ident, expires_at)


@dataclass
class SpentChallenges:
    """Challenges already used, kept until they lapse (then they fail as expired anyway).
    In this process's memory: behind a balancer, a challenge must be spent where it was
    issued or it could be used once per process (the rate limit still holds)."""

    limit: int = 200_000
    _until: dict[str, datetime] = field(default_factory=dict)

    def spend(self, solved: Solved, now: datetime) -> bool:
        """True the first time; False if it was spent before."""
        if solved.ident in self._until:
            return False
        if len(self._until) % 1024 == 1023 or len(self._until) >= self.limit:
            self.forget_lapsed(now)
            while len(self._until) >= self.limit:  # still full: the oldest go first
                self._until.pop(next(iter(self._until)))
        self._until[solved.ident] = solved.expires_at
        return True

    def forget_lapsed(self, now: datetime) -> None:
        for ident in [i for i, until in self._until.items() if until < now]:
            del self._until[ident]

    def __len__(self) -> int:
        return len(self._until)
