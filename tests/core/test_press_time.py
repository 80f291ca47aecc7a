"""The press time rule: her phone's time plus its measured clock offset, bounded by when
the server received the alert (not after it; at most `max_age_s` before it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dispatch.core.press_time import SLACK_S, press_time

RECEIVED = datetime(2026, 11, 28, 21, 0, 0, tzinfo=UTC)
HOUR = 3600.0


def test_an_alert_held_offline_keeps_its_press_on_the_servers_clock() -> None:
    # Her phone runs 5 min slow; she pressed 16 s before the server heard the alert.
    phone_at = RECEIVED - timedelta(seconds=16) - timedelta(minutes=5)
    got = press_time(phone_at, 300_000, RECEIVED, max_age_s=HOUR)
    assert got.at == RECEIVED - timedelta(seconds=16)
    assert not got.clamped


def test_a_phone_running_fast_is_corrected_back() -> None:
    phone_at = RECEIVED + timedelta(hours=2) - timedelta(seconds=3)
    got = press_time(phone_at, -7_200_000, RECEIVED, max_age_s=HOUR)
    assert (got.at, got.clamped) == (RECEIVED - timedelta(seconds=3), False)


def test_no_offset_measured_takes_the_phones_time_as_it_is() -> None:
    got = press_time(RECEIVED - timedelta(seconds=9), None, RECEIVED, max_age_s=HOUR)
    assert (got.at, got.clamped) == (RECEIVED - timedelta(seconds=9), False)


def test_a_press_after_the_receipt_is_the_receipt_flagged_beyond_the_slack() -> None:
    hours_ahead = press_time(RECEIVED + timedelta(hours=3), 0, RECEIVED, max_age_s=HOUR)
    assert (hours_ahead.at, hours_ahead.clamped) == (RECEIVED, True)
    # Within the slack it is the estimate's own error (half a round trip): not flagged.
    a_moment = press_time(RECEIVED + timedelta(seconds=0.4), 0, RECEIVED, max_age_s=HOUR)
    assert (a_moment.at, a_moment.clamped) == (RECEIVED, False)


def test_a_press_older_than_the_bound_is_clamped_to_it_and_flagged() -> None:
    hours_behind = press_time(RECEIVED - timedelta(hours=5), 0, RECEIVED, max_age_s=HOUR)
    assert (hours_behind.at, hours_behind.clamped) == (RECEIVED - timedelta(hours=1), True)
    at_the_bound = press_time(RECEIVED - timedelta(hours=1), 0, RECEIVED, max_age_s=HOUR)
    assert (at_the_bound.at, at_the_bound.clamped) == (RECEIVED - timedelta(hours=1), False)


def test_a_clock_out_of_any_range_is_the_receipt_flagged() -> None:
    got = press_time(datetime(1, 1, 1, tzinfo=UTC), -(10**12), RECEIVED, max_age_s=HOUR)
    assert (got.at, got.clamped) == (RECEIVED, True)


@given(
    seconds_before=st.floats(-1e6, 1e6, allow_nan=False),
    offset_ms=st.integers(-(10**11), 10**11) | st.none(),
    max_age_s=st.floats(1, 1e5, allow_nan=False),
)
def test_the_press_is_always_within_its_bounds_and_flagged_only_when_moved(
    seconds_before: float, offset_ms: int | None, max_age_s: float
) -> None:
    phone_at = RECEIVED - timedelta(seconds=seconds_before)
    got = press_time(phone_at, offset_ms, RECEIVED, max_age_s=max_age_s)
    assert RECEIVED - timedelta(seconds=max_age_s) <= got.at <= RECEIVED
    corrected = phone_at + timedelta(milliseconds=offset_ms or 0)
    if got.at != corrected:
        moved = abs((got.at - corrected).total_seconds())
        assert got.clamped or (corrected > RECEIVED and moved <= SLACK_S)
    else:
        assert not got.clamped
