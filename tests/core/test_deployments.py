"""The deployment machine and its timing, without an event loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.core.deployments import (
    DEPLOYMENT_MOVES,
    Step,
    due_steps,
    move_deployment,
    next_step_at,
    target_state,
)
from dispatch.core.lifecycle import IllegalTransition
from schemas.views import DeploymentState as D

START = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
END = START + timedelta(minutes=90)
LEAD = timedelta(minutes=60)


@pytest.mark.parametrize(
    ("state", "now", "steps"),
    [
        (D.PUBLISHED, START - LEAD - timedelta(seconds=1), []),
        (D.PUBLISHED, START - LEAD, [Step.BRIEF]),
        (D.PUBLISHED, START, [Step.BRIEF, Step.START]),  # the brief was missed: start late
        (D.PUBLISHED, END, [Step.MISS]),
        (D.BRIEFED, START - timedelta(seconds=1), []),
        (D.BRIEFED, START + timedelta(minutes=30), [Step.START]),
        (D.BRIEFED, END + timedelta(days=1), [Step.MISS]),
        (D.LIVE, END - timedelta(seconds=1), []),
        (D.LIVE, END, [Step.END]),
        (D.PLANNED, END, []),  # not published: the scheduler leaves it alone
        (D.CANCELLED, START, []),
        (D.ENDED, END, []),
    ],
)
def test_due_steps(state: D, now: datetime, steps: list[Step]) -> None:
    assert due_steps(state, START, END, now, LEAD) == steps


def test_next_step_times() -> None:
    assert next_step_at(D.PUBLISHED, START, END, LEAD) == START - LEAD
    assert next_step_at(D.BRIEFED, START, END, LEAD) == START
    assert next_step_at(D.LIVE, START, END, LEAD) == END
    for done in (D.ENDED, D.MISSED, D.CANCELLED, D.PLANNED):
        assert next_step_at(done, START, END, LEAD) is None


def test_illegal_moves_are_refused() -> None:
    with pytest.raises(IllegalTransition):
        move_deployment(D.ENDED, D.LIVE)
    with pytest.raises(IllegalTransition):
        move_deployment(D.PLANNED, D.LIVE)
    assert move_deployment(D.LIVE, D.ENDED) == D.ENDED


@given(
    state=st.sampled_from(list(D)),
    offset_min=st.integers(min_value=-24 * 60, max_value=24 * 60),
)
def test_due_steps_are_legal_moves_in_order(state: D, offset_min: int) -> None:
    """Whatever the time, the due steps form a legal path from the current state, and
    applying them leaves nothing more due."""
    now = START + timedelta(minutes=offset_min)
    current = state
    for step in due_steps(state, START, END, now, LEAD):
        current = move_deployment(current, target_state(step))
    assert due_steps(current, START, END, now, LEAD) == []
    assert set(DEPLOYMENT_MOVES) == set(D)
