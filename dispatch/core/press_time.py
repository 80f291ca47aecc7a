"""When she pressed: her phone's clock, corrected by the offset its link measured
against the server's clock, and bounded by when the server heard the alert.

The phone says when she pressed by its own clock, and how far its clock is behind the
server's (`clock_offset_ms`, measured on the link: server time less the middle of a
round trip). The press time is the phone's time plus that offset. It cannot be after
the server received the alert, nor longer ago than `max_age_s` before it: a phone
whose clock jumped, or a stale offset, must not make nonsense of response times. A
corrected time outside those bounds is clamped to the nearer bound and flagged. A time
within `SLACK_S` after receipt is the estimate's own error (half a round trip at most):
it is taken as the receipt, unflagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SLACK_S = 2.0


@dataclass(frozen=True, slots=True)
class PressTime:
    at: datetime  # corrected, within [received - max_age_s, received]
    clamped: bool  # the corrected time was out of bounds: `at` is a bound, not her press


def press_time(
    phone_at: datetime, offset_ms: int | None, received_at: datetime, *, max_age_s: float
) -> PressTime:
    """Her press on the server's clock (see the module's note)."""
    earliest = received_at - timedelta(seconds=max_age_s)
    try:
        corrected = phone_at + timedelta(milliseconds=offset_ms or 0)
    except OverflowError:  # a clock or offset far out of any real range
        return PressTime(received_at, True)
    if corrected > received_at:
        late = (corrected - received_at).total_seconds() > SLACK_S
        return PressTime(received_at, late)
    if corrected < earliest:
        return PressTime(earliest, True)
    return PressTime(corrected, False)
