"""False alarms per officer and per operation over twelve rolling months, pure (no loop)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ops_console.false_alarm_figures import AlarmFacts, false_alarms, months_before

NOW = datetime(2028, 3, 15, 12, 0, tzinfo=UTC)


def alert(
    days_ago: float, state: str = "cancelled", outcome: str | None = None, **kw: object
) -> AlarmFacts:
    base: dict[str, object] = {
        "raised_at": NOW - timedelta(days=days_ago),
        "state": state,
        "outcome": outcome,
        "officer_id": "o1",
        "officer": "Officer One",
        "operation_id": "op1",
        "operation": "Jog on",
    }
    base.update(kw)
    return AlarmFacts(**base)  # type: ignore[arg-type]


def test_three_in_twelve_months_flag_her_and_older_ones_do_not_count() -> None:
    figures = false_alarms(
        [
            alert(400),  # thirteen months ago: out
            alert(300),
            alert(100),
            alert(20, state="resolved", outcome="false_alarm"),
            alert(5, state="resolved", outcome="arrest"),
        ],
        now=NOW,
    )
    [her] = figures.officers
    assert (her.cancelled, her.false_alarm_outcomes, her.false_alarms, her.flagged) == (
        2,
        1,
        3,
        True,
    )
    assert figures.since == datetime(2027, 3, 15, 12, 0, tzinfo=UTC)
    [op] = figures.operations
    assert (op.key, op.false_alarms, op.flagged) == ("op1", 3, False)


def test_drills_crews_calls_and_system_alerts_never_count_and_the_limit_is_configurable() -> None:
    alerts = [
        alert(10, exercise=True),
        alert(11, origin="crew_help"),
        alert(14, origin="checkin"),  # raised for her by the system: not her false alarm
        alert(15, origin="escort"),
        alert(12),
        alert(13, officer_id="o2", officer="Officer Two", operation_id=None, operation=None),
    ]
    figures = false_alarms(alerts, now=NOW, limit=1)
    assert [(t.key, t.false_alarms, t.flagged) for t in figures.officers] == [
        ("o1", 1, True),
        ("o2", 1, True),
    ]
    assert [(t.key, t.name) for t in figures.operations] == [
        ("", "(outside operations)"),
        ("op1", "Jog on"),
    ]
    assert false_alarms([alert(1, state="resolved", outcome="arrest")], now=NOW).officers == []


def test_months_before_keeps_the_moment_and_clamps_the_day() -> None:
    assert months_before(datetime(2028, 3, 31, 9, 30, tzinfo=UTC), 1) == datetime(
        2028, 2, 29, 9, 30, tzinfo=UTC
    )
    assert months_before(datetime(2027, 1, 15, tzinfo=UTC), 12) == datetime(2026, 1, 15, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=800), st.integers(min_value=1, max_value=24))
def test_an_alert_counts_exactly_when_it_is_inside_the_window(days: int, months: int) -> None:
    one = alert(days)
    figures = false_alarms([one], now=NOW, months=months)
    inside = months_before(NOW, months) < one.raised_at <= NOW
    assert bool(figures.officers) == inside
