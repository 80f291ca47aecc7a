"""The alert, offer and crew machines, `settle_alert`, and one alert driven end to end."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from enum import StrEnum
from itertools import product
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from dispatch.core.lifecycle import (
    ALERT_MOVES,
    CREW_MOVES,
    OFFER_MOVES,
    IllegalTransition,
    is_open_alert,
    move_alert,
    move_crew,
    move_offer,
    officer_status,
    settle_alert,
)
from schemas.views import AlertState, CrewState, OfferState, OfficerStatus

A, OF, C = AlertState, OfferState, CrewState
Mover = Callable[[Any, Any], Any]
MACHINES: list[tuple[str, type[StrEnum], Mapping[Any, frozenset[Any]], Mover]] = [
    ("alert", AlertState, ALERT_MOVES, move_alert),
    ("offer", OfferState, OFFER_MOVES, move_offer),
    ("crew", CrewState, CREW_MOVES, move_crew),
]
CLOSED_ALERTS = [A.RESOLVED, A.CANCELLED]
OPEN_ALERTS = [s for s in AlertState if s not in CLOSED_ALERTS]
TERMINAL: list[StrEnum] = [*CLOSED_ALERTS, *(s for s in OfferState if s is not OF.OFFERED)]


def all_pairs() -> list[Any]:
    return [
        pytest.param(name, move, moves, cur, tgt, id=f"{name}:{cur.value}->{tgt.value}")
        for name, enum, moves, move in MACHINES
        for cur in enum
        for tgt in enum
    ]


@pytest.mark.parametrize(("name", "move", "moves", "current", "target"), all_pairs())
def test_every_pair_is_allowed_exactly_when_the_table_says(
    name: str, move: Mover, moves: Mapping[Any, frozenset[Any]], current: Any, target: Any
) -> None:
    if target in moves[current]:
        assert move(current, target) is target
    else:
        with pytest.raises(IllegalTransition) as err:
            move(current, target)
        assert (err.value.machine, err.value.current, err.value.target) == (name, current, target)


@pytest.mark.parametrize(("name", "enum", "moves"), [m[:3] for m in MACHINES])
def test_tables_cover_every_state_and_have_no_self_loops(
    name: str, enum: type[StrEnum], moves: Mapping[Any, frozenset[Any]]
) -> None:
    assert set(moves) == set(enum), name
    assert all(s not in moves[s] for s in enum), "staying put is not a move"


@pytest.mark.parametrize("state", TERMINAL, ids=str)
def test_terminal_states_have_no_way_out(state: StrEnum) -> None:
    name, enum, moves, move = next(m for m in MACHINES if isinstance(state, m[1]))
    assert moves[state] == frozenset(), name
    for target in enum:
        with pytest.raises(IllegalTransition):
            move(state, target)


def into(moves: Mapping[Any, frozenset[Any]], target: Any) -> set[Any]:
    """The states from which `target` is one move away."""
    return {s for s, targets in moves.items() if target in targets}


def test_dispatcher_rules_of_the_tables() -> None:
    # Nothing goes back to "raised"; any open alert can be cancelled at once.
    assert into(ALERT_MOVES, A.RAISED) == set()
    assert into(ALERT_MOVES, A.CANCELLED) == set(OPEN_ALERTS)
    # Any open alert can be resolved too: by its crew, or by a supervisor told by radio
    # even when no crew ever reached it. A crew is on scene only once assigned.
    assert into(ALERT_MOVES, A.RESOLVED) == set(OPEN_ALERTS)
    assert into(ALERT_MOVES, A.ON_SCENE) == {A.ASSIGNED}
    # Once on scene, an alert closes, or goes back to finding crews when a supervisor
    # released every crew attached to it.
    assert ALERT_MOVES[A.ON_SCENE] == {A.RESOLVED, A.CANCELLED, A.DISPATCHING, A.UNASSIGNED}
    assert OFFER_MOVES[OF.OFFERED] == {OF.ACCEPTED, OF.DECLINED, OF.EXPIRED, OF.WITHDRAWN}
    # A crew is offered only when available, assigned by accepting an offer or by a
    # supervisor's hand (from any state but assigned), and goes off duty only when free.
    assert into(CREW_MOVES, C.OFFERED) == {C.AVAILABLE}
    assert into(CREW_MOVES, C.ASSIGNED) == {C.OFFERED, C.AVAILABLE, C.OFF_DUTY}
    assert into(CREW_MOVES, C.OFF_DUTY) == {C.AVAILABLE}
    assert CREW_MOVES[C.OFFERED] == {C.AVAILABLE, C.ASSIGNED}


@pytest.mark.parametrize("state", OPEN_ALERTS, ids=str)
def test_an_alert_handled_by_radio_closes_from_any_open_state(state: AlertState) -> None:
    # Raised, dispatching, unassigned (no crew), assigned (en route) or on scene: a
    # supervisor closes it with an outcome, or cancels it, and it stays closed.
    for final in CLOSED_ALERTS:
        assert move_alert(state, final) is final
        assert not is_open_alert(final)
        assert officer_status(final) is not OfficerStatus.RECEIVED


def test_officer_is_never_told_her_alert_is_unassigned() -> None:
    # Supervisors see the escalation; the officer sees "received" until a crew is coming.
    assert {s: officer_status(s) for s in AlertState} == {
        A.RAISED: OfficerStatus.RECEIVED,
        A.DISPATCHING: OfficerStatus.RECEIVED,
        A.UNASSIGNED: OfficerStatus.RECEIVED,
        A.ASSIGNED: OfficerStatus.CREW_ASSIGNED,
        A.ON_SCENE: OfficerStatus.CREW_ON_SCENE,
        A.RESOLVED: OfficerStatus.RESOLVED,
        A.CANCELLED: OfficerStatus.CANCELLED,
    }


def settle_inputs() -> list[Any]:
    """Every state with every consistent (attached, on scene, offers) count up to 3."""
    return [
        pytest.param(state, att, on, off, id=f"{state.value}-attached{att}-on{on}-offers{off}")
        for state, att, off in product(AlertState, range(4), range(4))
        for on in range(att + 1)
    ]


@pytest.mark.parametrize(("current", "attached", "on_scene", "offers"), settle_inputs())
def test_settle_returns_current_or_one_legal_move(
    current: AlertState, attached: int, on_scene: int, offers: int
) -> None:
    def settle() -> AlertState:
        return settle_alert(
            current, crews_attached=attached, crews_on_scene=on_scene, open_offers=offers
        )

    if current in CLOSED_ALERTS:
        with pytest.raises(IllegalTransition):
            settle()
        return
    try:
        result = settle()
    except IllegalTransition as err:
        assert err.current is current and err.target not in ALERT_MOVES[current]
        # Refused only for a jump no single event causes (e.g. raised straight to on scene).
        assert current is not A.ASSIGNED, "an assigned alert can settle anywhere open"
        assert not (current is A.ON_SCENE and attached), "on scene with a crew stays on scene"
        return
    assert result is current or result in ALERT_MOVES[current]
    assert is_open_alert(result)
    if on_scene:
        assert result is A.ON_SCENE
    if current is A.ON_SCENE and attached:
        assert result is A.ON_SCENE, "a crew leaving never takes an alert back off scene"
    if current is A.ASSIGNED and not on_scene:
        expected = A.ASSIGNED if attached else A.DISPATCHING if offers else A.UNASSIGNED
        assert result is expected


N_CREWS = 3
crews = st.integers(0, N_CREWS - 1)
# Closing ends the interesting part of a run: resolve and cancel act one time in four.
closing_dice = st.integers(0, 3)


class OneAlert(RuleBasedStateMachine):
    """One alert, a few crews; the model counts crews and offers, the core decides states."""

    offers = Bundle("offers")

    def __init__(self) -> None:
        super().__init__()
        self.alert, self.needed = A.RAISED, 1
        self.closed_as: AlertState | None = None
        self.crew = dict.fromkeys(range(N_CREWS), C.AVAILABLE)
        self.offer_state: list[OfferState] = []
        self.offer_crew: list[int] = []
        self.attached: set[int] = set()
        self.on_scene: set[int] = set()

    def open_offers(self) -> int:
        return self.offer_state.count(OF.OFFERED)

    def settle(self) -> None:
        self.alert = settle_alert(
            self.alert,
            crews_attached=len(self.attached),
            crews_on_scene=len(self.on_scene),
            open_offers=self.open_offers(),
        )

    def try_offer(self, crew: int) -> list[int]:
        try:
            self.crew[crew] = move_crew(self.crew[crew], C.OFFERED)
        except IllegalTransition:
            assert self.crew[crew] is not C.AVAILABLE
            return []
        self.offer_state.append(OF.OFFERED)
        self.offer_crew.append(crew)
        return [len(self.offer_state) - 1]

    def end_offer(self, offer: int, outcome: OfferState, crew_to: CrewState) -> None:
        if self.offer_state[offer] is not OF.OFFERED:
            with pytest.raises(IllegalTransition):
                move_offer(self.offer_state[offer], outcome)
            return
        self.offer_state[offer] = move_offer(OF.OFFERED, outcome)
        crew = self.offer_crew[offer]
        self.crew[crew] = move_crew(self.crew[crew], crew_to)
        if outcome is OF.ACCEPTED:
            self.attached.add(crew)
        self.settle()

    def close(self, final: AlertState) -> None:
        self.alert, self.closed_as = move_alert(self.alert, final), final
        for i, state in enumerate(self.offer_state):
            if state is OF.OFFERED:
                self.offer_state[i] = move_offer(state, OF.WITHDRAWN)
        for c, state in self.crew.items():
            if state is not C.AVAILABLE:
                self.crew[c] = move_crew(state, C.AVAILABLE)
        self.attached.clear()
        self.on_scene.clear()

    @initialize(target=offers, urgent=st.booleans(), first=st.integers(0, 2))
    def raise_alert(self, urgent: bool, first: int) -> Any:
        self.needed = 2 if urgent else 1
        made = [o for c in range(min(first, self.needed)) for o in self.try_offer(c)]
        self.settle()
        return multiple(*made)

    @precondition(lambda self: self.closed_as is None)
    @precondition(lambda self: len(self.attached) + self.open_offers() < self.needed)
    @rule(target=offers, crew=crews)
    def offer(self, crew: int) -> Any:
        made = self.try_offer(crew)
        self.settle()
        return multiple(*made)

    @rule(offer=offers)
    def accept(self, offer: int) -> None:
        self.end_offer(offer, OF.ACCEPTED, C.ASSIGNED)

    @rule(offer=offers)
    def decline(self, offer: int) -> None:
        self.end_offer(offer, OF.DECLINED, C.AVAILABLE)

    @rule(offer=offers)
    def expire(self, offer: int) -> None:
        self.end_offer(offer, OF.EXPIRED, C.AVAILABLE)

    @precondition(lambda self: self.attached - self.on_scene)
    @rule()
    def crew_on_scene(self) -> None:
        self.on_scene.add(min(self.attached - self.on_scene))
        self.settle()

    @precondition(lambda self: self.closed_as is not None)
    @rule()
    def late_arrival(self) -> None:
        with pytest.raises(IllegalTransition):  # a closed alert does not reopen
            settle_alert(self.alert, crews_attached=1, crews_on_scene=1, open_offers=0)

    @precondition(lambda self: self.closed_as is None)
    @precondition(lambda self: self.attached)
    @rule(dice=closing_dice)
    def crew_resolves(self, dice: int) -> None:
        if dice == 0:
            self.close(A.RESOLVED)

    @precondition(lambda self: self.closed_as is None)
    @rule(dice=closing_dice)
    def supervisor_closes(self, dice: int) -> None:
        """Told by radio: resolved with an outcome whatever the state, crew or none; open
        offers are withdrawn and attached crews freed."""
        if dice == 0:
            self.close(A.RESOLVED)

    @precondition(lambda self: self.closed_as is None)
    @rule(dice=closing_dice)
    def cancel(self, dice: int) -> None:
        if dice == 0:
            self.close(A.CANCELLED)

    @invariant()
    def terminal_alert_stays_terminal(self) -> None:
        assert is_open_alert(self.alert) is (self.closed_as is None)
        if self.closed_as is not None:
            assert self.alert is self.closed_as
            for target in AlertState:
                with pytest.raises(IllegalTransition):
                    move_alert(self.alert, target)

    @invariant()
    def crew_holds_at_most_one_open_offer(self) -> None:
        holders = Counter(
            c for c, s in zip(self.offer_crew, self.offer_state, strict=True) if s is OF.OFFERED
        )
        assert all(n == 1 for n in holders.values())
        assert {c for c, s in self.crew.items() if s is C.OFFERED} == set(holders)
        assert not self.attached & set(holders)

    @invariant()
    def alert_holds_at_most_the_crews_it_needs(self) -> None:
        assert len(self.attached) <= self.needed
        assert {c for c, s in self.crew.items() if s is C.ASSIGNED} == self.attached

    @invariant()
    def state_follows_crews_and_offers(self) -> None:
        if self.closed_as is not None:
            return
        if self.on_scene:
            assert self.alert is A.ON_SCENE
        elif self.attached:
            assert self.alert is A.ASSIGNED
        elif self.open_offers():
            assert self.alert is A.DISPATCHING
        else:
            assert self.alert is A.UNASSIGNED
            assert officer_status(self.alert) is OfficerStatus.RECEIVED


OneAlert.TestCase.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)
TestOneAlert = OneAlert.TestCase
