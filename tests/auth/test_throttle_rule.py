"""The pure backoff rule, the source throttle, the secret box and the recovery codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.auth.second_factor import hashes_json, new_recovery_codes, use_recovery_code
from dispatch.auth.secret_box import SecretBoxError, open_box, seal
from dispatch.auth.throttle import Backoff, SourceThrottle, retry_after_s

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RULE = Backoff(free=5, base_s=2, cap_s=60, forget_s=900)


def test_free_failures_cost_nothing_then_the_wait_doubles_up_to_the_cap() -> None:
    waits = [RULE.delay_s(n) for n in range(1, 12)]
    assert waits == [0, 0, 0, 0, 2, 4, 8, 16, 32, 60, 60]


@given(st.integers(min_value=0, max_value=10**9))
def test_no_number_of_failures_waits_longer_than_the_cap(failures: int) -> None:
    assert 0 <= RULE.delay_s(failures) <= RULE.cap_s


def test_failures_are_forgotten_after_a_quiet_spell() -> None:
    allowed = RULE.next_allowed(7, T0)
    assert not RULE.forgotten(allowed, allowed + timedelta(seconds=899))
    assert RULE.forgotten(allowed, allowed + timedelta(seconds=900))


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert retry_after_s(T0 + timedelta(seconds=1.2), T0) == 2
    assert retry_after_s(T0, T0) == 1


def test_a_source_waits_after_its_free_failures_and_others_do_not() -> None:
    sources = SourceThrottle(Backoff(free=10, base_s=2, cap_s=300, forget_s=900))
    for _ in range(9):
        sources.failed("10.0.0.9", T0)
    assert sources.wait_until("10.0.0.9", T0) is None
    sources.failed("10.0.0.9", T0)
    assert sources.wait_until("10.0.0.9", T0) == T0 + timedelta(seconds=2)
    assert sources.wait_until("10.0.0.8", T0) is None
    assert sources.wait_until("10.0.0.9", T0 + timedelta(hours=1)) is None


def test_a_sealed_secret_opens_only_with_its_key_and_unaltered() -> None:
    sealed = seal("JBSWY3DPEHPK3PXP", "key-one")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert open_box(sealed, "key-one") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretBoxError):
        open_box(sealed, "key-two")
    with pytest.raises(SecretBoxError):
        open_box(sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1], "key-one")
    assert open_box(seal("JBSWY3DPEHPK3PXP", ""), "") == "JBSWY3DPEHPK3PXP"


def test_each_recovery_code_works_once_in_any_case_and_spacing() -> None:
    codes = new_recovery_codes()
    assert len(set(codes)) == 10
    stored = hashes_json(codes)
    assert codes[0] not in stored
    left = use_recovery_code(stored, codes[0].upper().replace("-", " "))
    assert left is not None
    assert use_recovery_code(left, codes[0]) is None
    assert use_recovery_code(left, "abcd-efgh-jkmn-pqrs") is None
