"""Sign-in throttling: a growing backoff with a cap, by account and by source address.

The rule is pure: after `free` failures in a row, the next attempt must wait
`base * 2**k` seconds (k = failures beyond the free ones, from 0), never more than `cap`.
A success forgets an account's failures; failures older than `forget_s` are forgotten.
Nothing here locks for long: the cap bounds every wait, so an attacker can slow a real
user by at most `cap` seconds, and a source guessing across many accounts is slowed
as one. A refused attempt is not checked and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Backoff:
    free: int
    base_s: float
    cap_s: float
    forget_s: float

    def delay_s(self, failures: int) -> float:
        """How long to wait after `failures` failures in a row."""
        beyond = failures - self.free
        if beyond < 0:
            return 0.0
        return float(min(self.cap_s, self.base_s * 2 ** min(beyond, 62)))

    def next_allowed(self, failures: int, failed_at: datetime) -> datetime:
        return failed_at + timedelta(seconds=self.delay_s(failures))

    def forgotten(self, allowed_at: datetime, now: datetime) -> bool:
        """The failures behind `allowed_at` are old enough to start again from nothing."""
        return now >= allowed_at + timedelta(seconds=self.forget_s)


def retry_after_s(allowed_at: datetime, now: datetime) -> int:
    """Whole seconds to wait (at least 1) before `allowed_at`."""
    return max(1, int(-(-(allowed_at - now).total_seconds() // 1)))


@dataclass(slots=True)
class _Record:
    failures: int
    allowed_at: datetime


class SourceThrottle:
    """Failures by source address, in this process's memory (a cluster of n processes
    lets a source n times as many guesses; the account's backoff is in the database)."""

    MAX_SOURCES = 100_000

    def __init__(self, rule: Backoff) -> None:
        self.rule = rule
        self._records: dict[str, _Record] = {}

    def wait_until(self, source: str, now: datetime) -> datetime | None:
        """When this source may try again, if it must wait."""
        record = self._records.get(source)
        if record is None:
            return None
        if self.rule.forgotten(record.allowed_at, now):
            del self._records[source]
            return None
        return record.allowed_at if record.allowed_at > now else None

    def failed(self, source: str, now: datetime) -> None:
        record = self._records.get(source)
        if record is None or self.rule.forgotten(record.allowed_at, now):
            if len(self._records) >= self.MAX_SOURCES:
                self._records.pop(next(iter(self._records)))
            record = self._records[source] = _Record(0, now)
        record.failures += 1
        record.allowed_at = self.rule.next_allowed(record.failures, now)

    def forget(self, source: str) -> None:
        self._records.pop(source, None)
