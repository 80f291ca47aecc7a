"""The deployment state machine and what is due when: pure, no I/O.

    planned -> published -> briefed -> live -> ended
    published | briefed -> missed   (the server was down through the whole window)
    planned | published | briefed | live -> cancelled

A published deployment whose brief time passed unseen is briefed and, if its
start passed too, started at once ("late"); one whose end passed too is missed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from dispatch.core.lifecycle import IllegalTransition
from schemas.views import DeploymentState

D = DeploymentState

DEPLOYMENT_MOVES: Mapping[DeploymentState, frozenset[DeploymentState]] = {
    D.PLANNED: frozenset({D.PUBLISHED, D.CANCELLED}),
    D.PUBLISHED: frozenset({D.BRIEFED, D.MISSED, D.CANCELLED}),
    D.BRIEFED: frozenset({D.LIVE, D.MISSED, D.CANCELLED}),
    D.LIVE: frozenset({D.ENDED, D.CANCELLED}),
    D.ENDED: frozenset(),
    D.MISSED: frozenset(),
    D.CANCELLED: frozenset(),
}

SCHEDULED = frozenset({D.PUBLISHED, D.BRIEFED, D.LIVE})  # the scheduler has work for these
EDITABLE = frozenset({D.PLANNED, D.PUBLISHED, D.BRIEFED})  # may still be moved or deleted


class Step(StrEnum):
    BRIEF = "brief"
    START = "start"
    END = "end"
    MISS = "miss"


def move_deployment(current: DeploymentState, target: DeploymentState) -> DeploymentState:
    if target not in DEPLOYMENT_MOVES[current]:
        raise IllegalTransition("deployment", current, target)
    return target


def due_steps(
    state: DeploymentState,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    brief_lead: timedelta,
) -> list[Step]:
    """The steps due for one deployment at `now`, in order."""
    if state in (D.PUBLISHED, D.BRIEFED) and now >= ends_at:
        return [Step.MISS]
    if state == D.PUBLISHED:
        if now >= starts_at:
            return [Step.BRIEF, Step.START]
        if now >= starts_at - brief_lead:
            return [Step.BRIEF]
    if state == D.BRIEFED and now >= starts_at:
        return [Step.START]
    if state == D.LIVE and now >= ends_at:
        return [Step.END]
    return []


def next_step_at(
    state: DeploymentState, starts_at: datetime, ends_at: datetime, brief_lead: timedelta
) -> datetime | None:
    """When the next step of this deployment falls due (None when nothing is left)."""
    if state == D.PUBLISHED:
        return starts_at - brief_lead
    if state == D.BRIEFED:
        return starts_at
    if state == D.LIVE:
        return ends_at
    return None


def target_state(step: Step) -> DeploymentState:
    return {Step.BRIEF: D.BRIEFED, Step.START: D.LIVE, Step.END: D.ENDED, Step.MISS: D.MISSED}[step]
