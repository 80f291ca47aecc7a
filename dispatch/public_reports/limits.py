"""Rate limits for the public's submissions: token buckets by source and for everyone.

A bucket holds up to `burst` tokens and gains `per_min` a minute; a submission takes one,
or is refused with how long to wait. Pure: the caller passes the time. Memory is bounded:
past `max_keys` sources the least recently seen is forgotten (it comes back full, which
is what a flood from that many addresses could have had anyway through the global bucket).
A source is its IPv4 address, or its IPv6 address's /64 (`source_key`): one subscriber
is commonly given a whole /64, and would otherwise have 2**64 buckets of its own.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: datetime


class Buckets:
    def __init__(self, *, per_min: float, burst: int, max_keys: int = 100_000) -> None:
        if per_min <= 0 or burst < 1:
            raise ValueError("per_min > 0 and burst >= 1")
        self.per_s = per_min / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: datetime) -> float | None:
        """Take a token: None if there was one, else the seconds until there is."""
        bucket = self._buckets.pop(key, None)  # popped and put back: the newest at the end
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._buckets.pop(next(iter(self._buckets)))
            bucket = _Bucket(self.burst, now)
        else:
            elapsed = max(0.0, (now - bucket.at).total_seconds())
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.per_s)
            bucket.at = now if now > bucket.at else bucket.at
        self._buckets[key] = bucket
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.per_s

    def give_back(self, key: str) -> None:
        """Return the token `take` just took (the submission was refused for another
        reason); never above the burst, and nothing for a key no longer held."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(self.burst, bucket.tokens + 1.0)

    def __len__(self) -> int:
        return len(self._buckets)


def source_key(address: str) -> str:
    """The bucket of a client address: IPv4 the address itself (an IPv4-mapped IPv6
    address too), IPv6 its /64; anything else (no address, a test client's name) as given."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        prefix = int(ip) >> 64 << 64
        return f"{ipaddress.IPv6Address(prefix)}/64"
    return str(ip)


def retry_after_s(wait_s: float) -> int:
    """Whole seconds (at least 1) for a Retry-After header."""
    return max(1, math.ceil(wait_s))
