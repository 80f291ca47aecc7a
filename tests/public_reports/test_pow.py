"""The proof of work, without an event loop: signed, expiring, bits counted, spent once."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

from dispatch.public_reports import pow

NOW = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
KEY = b"k" * 32


def challenge(bits: int = 8, at: datetime = NOW, key: bytes = KEY) -> str:
    return pow.issue(key, now=at, bits=bits, random_bytes=random.Random(1).randbytes(16))


def check(token: str, nonce: str, at: datetime = NOW, min_bits: int = 8) -> object:
    return pow.check(KEY, token, nonce, now=at, ttl_s=600, min_bits=min_bits)


def test_leading_zero_bits_are_counted_from_the_first_byte() -> None:
    assert pow.leading_zero_bits(bytes([0, 0, 0x80]) + bytes(29)) == 16
    assert pow.leading_zero_bits(bytes([0x01]) + bytes(31)) == 7
    assert pow.leading_zero_bits(bytes([0xFF]) + bytes(31)) == 0
    assert pow.leading_zero_bits(bytes(32)) == 256


def test_a_solved_challenge_passes_and_its_work_is_real() -> None:
    token = challenge(bits=10)
    nonce = pow.solve(token, 10)
    digest = hashlib.sha256(f"{token}:{nonce}".encode()).digest()
    assert pow.leading_zero_bits(digest) >= 10
    result = check(token, nonce, min_bits=10)
    assert isinstance(result, pow.Solved)
    assert result.expires_at == NOW + timedelta(seconds=600)


def test_a_wrong_nonce_fails() -> None:
    token = challenge(bits=12)
    good = pow.solve(token, 12)
    wrong = next(
        n
        for n in (pow.solve(token, 0, start=k) for k in range(1000))
        if pow.leading_zero_bits(pow.work_digest(token, n)) < 12
    )
    assert isinstance(check(token, good, min_bits=12), pow.Solved)
    assert check(token, wrong, min_bits=12) == pow.Failed("pow_invalid")
    assert check(token, "NOT-base36", min_bits=12) == pow.Failed("pow_invalid")
    assert check(token, 123, min_bits=12) == pow.Failed("pow_invalid")  # type: ignore[arg-type]


def test_a_forged_or_altered_challenge_fails() -> None:
    foreign = challenge(bits=8, key=b"x" * 32)
    assert check(foreign, pow.solve(foreign, 8)) == pow.Failed("pow_invalid")
    token = challenge(bits=8)
    easier = token.replace(".8.", ".0.", 1)  # fewer bits asked: the tag no longer matches
    assert check(easier, "0", min_bits=0) == pow.Failed("pow_invalid")
    assert check("v1.garbage", "0") == pow.Failed("pow_invalid")


def test_fewer_bits_than_configured_fail_even_when_signed() -> None:
    token = challenge(bits=2)
    assert check(token, pow.solve(token, 2), min_bits=8) == pow.Failed("pow_invalid")


def test_an_expired_challenge_fails_as_expired() -> None:
    token = challenge(bits=4)
    nonce = pow.solve(token, 4)
    assert isinstance(check(token, nonce, at=NOW + timedelta(seconds=600), min_bits=4), pow.Solved)
    late = check(token, nonce, at=NOW + timedelta(seconds=601), min_bits=4)
    assert late == pow.Failed("pow_expired")
    early = check(token, nonce, at=NOW - timedelta(hours=1), min_bits=4)
    assert early == pow.Failed("pow_invalid")  # issued in the future: not ours


def test_a_challenge_is_spent_once() -> None:
    token = challenge(bits=4)
    solved = check(token, pow.solve(token, 4), min_bits=4)
    assert isinstance(solved, pow.Solved)
    spent = pow.SpentChallenges()
    assert spent.spend(solved, NOW)
    assert not spent.spend(solved, NOW)
    assert not spent.spend(solved, NOW + timedelta(seconds=599))


def test_spent_challenges_are_forgotten_once_lapsed_and_memory_is_bounded() -> None:
    spent = pow.SpentChallenges(limit=10)
    for n in range(25):
        spent.spend(pow.Solved(f"{n:032x}", NOW + timedelta(seconds=n)), NOW)
    assert len(spent) <= 10
    spent.forget_lapsed(NOW + timedelta(seconds=100))
    assert len(spent) == 0
