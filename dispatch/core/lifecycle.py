"""The alert, offer and crew state machines. Illegal moves raise `IllegalTransition`."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from schemas.views import AlertState, AssignmentStatus, CrewState, OfferState, OfficerStatus

S = TypeVar("S", bound=StrEnum)


class IllegalTransition(ValueError):
    """A state machine was asked for a move it does not allow."""

    def __init__(self, machine: str, current: StrEnum, target: StrEnum) -> None:
        super().__init__(f"{machine} cannot go from {current.value} to {target.value}")
        self.machine, self.current, self.target = machine, current, target


A, OS, C = AlertState, OfferState, CrewState

# Every open alert may close: cancelled (a false alarm), or resolved with an outcome,
# by its crew or by a supervisor told by radio (so also with no crew on it).
ALERT_MOVES: Mapping[AlertState, frozenset[AlertState]] = {
    A.RAISED: frozenset({A.DISPATCHING, A.UNASSIGNED, A.RESOLVED, A.CANCELLED}),
    A.DISPATCHING: frozenset({A.ASSIGNED, A.UNASSIGNED, A.RESOLVED, A.CANCELLED}),
    A.UNASSIGNED: frozenset({A.DISPATCHING, A.ASSIGNED, A.RESOLVED, A.CANCELLED}),
    A.ASSIGNED: frozenset({A.ON_SCENE, A.RESOLVED, A.DISPATCHING, A.UNASSIGNED, A.CANCELLED}),
    # Back from on scene only when a supervisor released every crew attached to it.
    A.ON_SCENE: frozenset({A.RESOLVED, A.CANCELLED, A.DISPATCHING, A.UNASSIGNED}),
    A.RESOLVED: frozenset(),
    A.CANCELLED: frozenset(),
}

OFFER_MOVES: Mapping[OfferState, frozenset[OfferState]] = {
    OS.OFFERED: frozenset({OS.ACCEPTED, OS.DECLINED, OS.EXPIRED, OS.WITHDRAWN}),
    OS.ACCEPTED: frozenset(),
    OS.DECLINED: frozenset(),
    OS.EXPIRED: frozenset(),
    OS.WITHDRAWN: frozenset(),
}

CREW_MOVES: Mapping[CrewState, frozenset[CrewState]] = {
    # A supervisor may assign a crew by hand (reached by radio) even while it is off duty.
    C.OFF_DUTY: frozenset({C.AVAILABLE, C.ASSIGNED}),
    C.AVAILABLE: frozenset({C.OFF_DUTY, C.OFFERED, C.ASSIGNED}),
    C.OFFERED: frozenset({C.AVAILABLE, C.ASSIGNED}),  # accepted, or assigned by hand
    C.ASSIGNED: frozenset({C.AVAILABLE}),
}


ASSIGNMENT_MOVES: Mapping[AssignmentStatus, frozenset[AssignmentStatus]] = {
    AssignmentStatus.EN_ROUTE: frozenset({AssignmentStatus.ON_SCENE, AssignmentStatus.CLEARED}),
    AssignmentStatus.ON_SCENE: frozenset({AssignmentStatus.CLEARED}),
    AssignmentStatus.CLEARED: frozenset(),
}


def _move(machine: str, moves: Mapping[S, frozenset[S]], current: S, target: S) -> S:
    if target not in moves[current]:
        raise IllegalTransition(machine, current, target)
    return target


def move_alert(current: AlertState, target: AlertState) -> AlertState:
    return _move("alert", ALERT_MOVES, current, target)


def move_offer(current: OfferState, target: OfferState) -> OfferState:
    return _move("offer", OFFER_MOVES, current, target)


def move_crew(current: CrewState, target: CrewState) -> CrewState:
    return _move("crew", CREW_MOVES, current, target)


def move_assignment(current: AssignmentStatus, target: AssignmentStatus) -> AssignmentStatus:
    return _move("assignment", ASSIGNMENT_MOVES, current, target)


def is_open_alert(state: AlertState) -> bool:
    return state not in (A.RESOLVED, A.CANCELLED)


def settle_alert(
    current: AlertState, *, crews_attached: int, crews_on_scene: int, open_offers: int
) -> AlertState:
    """The state an open alert takes from its crews and offers, checked against the machine.

    On scene beats assigned beats dispatching; with no crew and no offer it is
    unassigned (escalated to supervisors). Staying put is always allowed.
    """
    if not is_open_alert(current):
        raise IllegalTransition("alert", current, current)
    if crews_on_scene > 0:
        target = A.ON_SCENE
    elif crews_attached > 0:
        target = A.ASSIGNED
    elif open_offers > 0:
        target = A.DISPATCHING
    else:
        target = A.UNASSIGNED
    if target == current or (current == A.ON_SCENE and target == A.ASSIGNED):
        # A second crew arriving or leaving never takes an alert back off scene.
        return current
    return move_alert(current, target)


def officer_status(state: AlertState) -> OfficerStatus:
    """What the officer is told. She is not told her alert is unassigned: she is
    told it was received, while supervisors see the escalation."""
    return {
        A.ASSIGNED: OfficerStatus.CREW_ASSIGNED,
        A.ON_SCENE: OfficerStatus.CREW_ON_SCENE,
        A.RESOLVED: OfficerStatus.RESOLVED,
        A.CANCELLED: OfficerStatus.CANCELLED,
    }.get(state, OfficerStatus.RECEIVED)
