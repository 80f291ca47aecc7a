"""Token buckets by source, without an event loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.public_reports.limits import Buckets, retry_after_s, source_key

NOW = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)


def test_a_burst_then_the_refill_rate() -> None:
    buckets = Buckets(per_min=2, burst=3)
    assert [buckets.take("a", NOW) for _ in range(3)] == [None, None, None]
    wait = buckets.take("a", NOW)
    assert wait is not None and 29 < wait <= 30
    assert buckets.take("b", NOW) is None  # another source has its own bucket
    assert buckets.take("a", NOW + timedelta(seconds=30)) is None
    assert buckets.take("a", NOW + timedelta(seconds=30)) is not None


def test_a_thousand_in_a_minute_from_one_source_mostly_refused() -> None:
    buckets = Buckets(per_min=2, burst=10)
    allowed = sum(
        buckets.take("10.0.0.1", NOW + timedelta(seconds=n * 0.06)) is None for n in range(1000)
    )
    assert allowed == 10 + 1  # the burst, and one token earned in the minute


def test_memory_is_bounded_by_the_least_recently_seen() -> None:
    buckets = Buckets(per_min=1, burst=1, max_keys=100)
    for n in range(1000):
        buckets.take(f"s{n}", NOW)
    assert len(buckets) == 100


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert retry_after_s(0.01) == 1
    assert retry_after_s(29.2) == 30


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.5", "203.0.113.5"),  # IPv4: the whole address
        ("203.0.113.6", "203.0.113.6"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),  # IPv6: its /64
        ("2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),  # the next /64 is another source
        ("::ffff:198.51.100.7", "198.51.100.7"),  # IPv4-mapped: the IPv4 address
        ("fe80::1%eth0", "fe80::/64"),
        ("", ""),  # no address, or a name: as given
        ("testclient", "testclient"),
    ],
)
def test_a_source_is_an_ipv4_address_or_an_ipv6_slash_64(address: str, key: str) -> None:
    assert source_key(address) == key


def test_one_ipv6_subscriber_cannot_get_a_bucket_per_address() -> None:
    buckets = Buckets(per_min=2, burst=3)
    addresses = [f"2001:db8:1:2::{n:x}" for n in range(1, 101)]
    allowed = sum(buckets.take(source_key(a), NOW) is None for a in addresses)
    assert allowed == 3 and len(buckets) == 1


def test_a_token_given_back_is_there_again_never_above_the_burst() -> None:
    buckets = Buckets(per_min=2, burst=2)
    assert buckets.take("a", NOW) is None and buckets.take("a", NOW) is None
    assert buckets.take("a", NOW) is not None
    buckets.give_back("a")
    assert buckets.take("a", NOW) is None
    assert buckets.take("a", NOW) is not None
    buckets.give_back("a")
    buckets.give_back("a")
    buckets.give_back("a")  # a full bucket stays full
    assert [buckets.take("a", NOW) for _ in range(2)] == [None, None]
    assert buckets.take("a", NOW) is not None
    buckets.give_back("unknown")  # nothing to give back to: nothing held
    assert len(buckets) == 1
