"""Welfare rules without an event loop: check-in due times, the two graces, silence,
escort timers, and what a sweep must do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.core import welfare as w

T0 = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
RULES = w.Rules(checkin_grace_s=120, checkin_alert_after_s=300, silent_after_s=180)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def officer(**kw: object) -> w.OfficerWatch:
    base: dict[str, object] = {
        "officer_id": "o1",
        "deployment_id": "d1",
        "live_from": T0,
        "interval_min": 20,
        "last_checkin": None,
        "alerted_due": None,
        "heard_at": None,
    }
    base.update(kw)
    return w.OfficerWatch(**base)  # type: ignore[arg-type]


def review(now: datetime, *, officers=(), crews=(), escorts=(), active=()) -> w.Plan:  # type: ignore[no-untyped-def]
    return w.review(
        now, officers=officers, crews=crews, escorts=escorts, active=active, rules=RULES
    )


def test_due_counts_from_the_start_then_from_her_last_checkin() -> None:
    assert w.checkin_due(live_from=T0, last_at=None, interval_min=20) == at(1200)
    assert w.checkin_due(live_from=T0, last_at=at(600), interval_min=20) == at(1800)
    # A check-in before the deployment went live counts from its start.
    assert w.checkin_due(live_from=T0, last_at=at(-60), interval_min=20) == at(1200)


def test_graces_warning_then_alert() -> None:
    due = at(1200)
    assert w.checkin_stage(at(1200), due, RULES) is w.Stage.FINE
    assert w.checkin_stage(at(1319), due, RULES) is w.Stage.FINE
    assert w.checkin_stage(at(1320), due, RULES) is w.Stage.WARN
    assert w.checkin_stage(at(1619), due, RULES) is w.Stage.WARN
    assert w.checkin_stage(at(1620), due, RULES) is w.Stage.ALERT


def test_silence_counts_from_the_watch_or_the_last_sign_of_life() -> None:
    assert w.silent_since(heard_at=None, watched_from=T0) == T0
    assert w.silent_since(heard_at=at(-500), watched_from=T0) == T0
    assert w.silent_since(heard_at=at(50), watched_from=T0) == at(50)
    assert not w.is_silent(at(229), at(50), RULES)
    assert w.is_silent(at(230), at(50), RULES)


def test_a_missed_checkin_warns_then_raises_once() -> None:
    heard = officer(heard_at=at(1600))  # her phone is connected: only the check-in
    assert review(at(1300), officers=[heard]).warn == []
    plan = review(at(1320), officers=[heard])
    assert [(x.id, x.kind, x.since) for x in plan.warn] == [("checkin:o1", w.CHECKIN, at(1200))]
    assert plan.raise_checkin == []
    plan = review(at(1620), officers=[heard], active=["checkin:o1"])
    assert plan.warn == [] and plan.clear == []
    [missed] = plan.raise_checkin
    assert missed.due == at(1200) and missed.alert_id == w.checkin_alert_id("d1", "o1", at(1200))
    assert len(missed.alert_id) <= 64
    done = officer(heard_at=at(1600), alerted_due=at(1200))
    assert review(at(1700), officers=[done], active=["checkin:o1"]).raise_checkin == []


def test_her_checkin_clears_the_warning() -> None:
    fine = officer(heard_at=at(1400), last_checkin=at(1390))
    plan = review(at(1400), officers=[fine], active=["checkin:o1"])
    assert plan.clear == [("checkin:o1", "checkin")]


def test_no_interval_no_checkins() -> None:
    plan = review(at(99999), officers=[officer(interval_min=None, heard_at=at(99999))])
    assert plan.warn == [] and plan.raise_checkin == []


def test_silent_officer_and_her_return() -> None:
    quiet = officer(interval_min=None, heard_at=at(10))
    plan = review(at(190), officers=[quiet])
    assert [(x.id, x.since) for x in plan.warn] == [("silent:officer:o1", at(10))]
    back = officer(interval_min=None, heard_at=at(200))
    assert review(at(200), officers=[back], active=["silent:officer:o1"]).clear == [
        ("silent:officer:o1", "back")
    ]


def test_silent_crew_on_an_assignment() -> None:
    crew = w.CrewWatch(crew_id="c1", alert_id="a1", since=T0, heard_at=None)
    [warning] = review(at(180), crews=[crew]).warn
    assert (warning.id, warning.role, warning.alert_id) == ("silent:crew:c1", "crew", "a1")
    assert review(at(179), crews=[crew]).warn == []


def test_warnings_of_subjects_no_longer_watched_end() -> None:
    plan = review(at(0), active=["silent:crew:c1", "checkin:o1", "silent:officer:o1"])
    assert sorted(plan.clear) == [
        ("checkin:o1", "ended"),
        ("silent:crew:c1", "ended"),
        ("silent:officer:o1", "ended"),
    ]


def test_escort_runs_out_at_its_due_time() -> None:
    escort = w.Escort("o1", "e1", at(600))
    assert review(at(599), escorts=[escort]).fire_escorts == []
    assert review(at(600), escorts=[escort]).fire_escorts == [escort]


def test_due_counts_from_when_the_interval_was_set_at_the_earliest() -> None:
    # Turned on 40 min into a live deployment: a whole interval from then, not late.
    assert w.checkin_due(live_from=T0, last_at=None, interval_min=20, set_at=at(2400)) == at(3600)
    # Lowered after her check-in: from the change; a check-in after it counts from her.
    assert w.checkin_due(live_from=T0, last_at=at(1800), interval_min=5, set_at=at(2340)) == at(
        2640
    )
    assert w.checkin_due(live_from=T0, last_at=at(2400), interval_min=5, set_at=at(2340)) == at(
        2700
    )
    # Set before the deployment went live: from its start.
    assert w.checkin_due(live_from=T0, last_at=None, interval_min=20, set_at=at(-600)) == at(1200)


def test_checkins_turned_on_late_warn_and_raise_nothing_at_once() -> None:
    late = officer(heard_at=at(3720), checkin_set_at=at(2400))  # her phone is connected
    plan = review(at(2400), officers=[late])
    assert plan.warn == [] and plan.raise_checkin == []
    assert review(at(3600 + 119), officers=[late]).warn == []
    [warning] = review(at(3600 + 120), officers=[late]).warn
    assert (warning.id, warning.since) == ("checkin:o1", at(3600))


STARTING = w.Rules(
    checkin_grace_s=120, checkin_alert_after_s=300, silent_after_s=180, startup_grace_s=180
)


def test_nothing_new_within_the_startup_grace() -> None:
    """After a restart (or an outage) the phones have not reconnected yet: within the
    grace no silent warning, no missed check-in, no check-in alert, no escort fired."""
    started = at(4000)  # the outage: from before the check-in's due to long after both graces
    quiet = officer(heard_at=at(900))
    escort = w.Escort("o1", "e1", at(3000))

    def plan(now: datetime, active: tuple[str, ...] = ()) -> w.Plan:
        return w.review(
            now,
            officers=[quiet],
            crews=[w.CrewWatch("c1", "a1", since=T0, heard_at=at(900))],
            escorts=[escort],
            active=active,
            rules=STARTING,
            started_at=started,
        )

    held = plan(at(4000 + 179))
    assert held.warn == [] and held.raise_checkin == [] and held.fire_escorts == []
    # What is on the board stays (another process may have put it up), until she is back.
    kept = plan(at(4000 + 179), active=("silent:officer:o1", "checkin:o1", "silent:crew:c1"))
    assert kept.clear == []
    after = plan(at(4000 + 180))
    assert sorted(x.id for x in after.warn) == [
        "checkin:o1",
        "silent:crew:c1",
        "silent:officer:o1",
    ]
    assert [x.due for x in after.raise_checkin] == [at(1200)]
    assert after.fire_escorts == [escort]
    # With no start given (or no grace), the rules run at once, as before.
    assert review(at(4000), officers=[quiet]).raise_checkin != []
