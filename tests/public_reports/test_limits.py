"""Token buckets by source, without an event loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.public_reports.limits import Buckets, retry_after_s

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
