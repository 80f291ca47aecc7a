"""Officer welfare rules (pure): when a check-in is due, when a missed one becomes a
warning and then an alert, when a phone counts as silent, when an escort timer has run
out, and, from all of that, what a sweep must do. No I/O, no clock of its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

CHECKIN, SILENT = "checkin_missed", "silent"


@dataclass(frozen=True)
class Rules:
    checkin_grace_s: float  # due -> warning
    checkin_alert_after_s: float  # warning -> alert raised on her behalf
    silent_after_s: float  # no socket, no position this long -> warning
    # After the process starts, this long: no new warning, no check-in alert, no escort
    # timer fired (the phones reconnect, check in or stop their timer first).
    startup_grace_s: float = 0


class Stage(StrEnum):
    FINE = "fine"
    WARN = "warn"
    ALERT = "alert"


def checkin_due(
    *,
    live_from: datetime,
    last_at: datetime | None,
    interval_min: int,
    set_at: datetime | None = None,
) -> datetime:
    """Her next check-in: `interval_min` after the latest of her last check-in on this
    deployment, its going live, and the interval being set or changed (`set_at`): turning
    check-ins on, or changing the interval, on a live deployment gives her a whole interval
    from then (a check-in from before it went live counts from the start)."""
    base = max(t for t in (live_from, last_at, set_at) if t is not None)
    return base + timedelta(minutes=interval_min)


def starting(now: datetime, started_at: datetime | None, rules: Rules) -> bool:
    """Within the start-up grace: the process has not heard the phones long enough to
    judge them (after a restart or an outage, they reconnect within seconds)."""
    if started_at is None:
        return False
    return (now - started_at).total_seconds() < rules.startup_grace_s


def checkin_stage(now: datetime, due: datetime, rules: Rules) -> Stage:
    late = (now - due).total_seconds()
    if late >= rules.checkin_grace_s + rules.checkin_alert_after_s:
        return Stage.ALERT
    if late >= rules.checkin_grace_s:
        return Stage.WARN
    return Stage.FINE


def silent_since(*, heard_at: datetime | None, watched_from: datetime) -> datetime:
    """Since when a phone has been silent: its last sign of life, or the watch's start
    (a deployment going live, a crew accepting) if it has given none since."""
    return watched_from if heard_at is None or heard_at < watched_from else heard_at


def is_silent(now: datetime, since: datetime, rules: Rules) -> bool:
    return (now - since).total_seconds() >= rules.silent_after_s


def escort_ran_out(now: datetime, due_at: datetime) -> bool:
    return now >= due_at


def checkin_warning_id(officer_id: str) -> str:
    return f"checkin:{officer_id}"


def silent_warning_id(role: str, subject_id: str) -> str:
    return f"silent:{role}:{subject_id}"


def checkin_alert_id(deployment_id: str, officer_id: str, due: datetime) -> str:
    """The alert raised for one missed check-in: the same id on every process (and a
    repeat is the same alert), at most 64 characters."""
    return f"chk-{deployment_id[:20]}-{officer_id[:20]}-{int(due.timestamp())}"


# -- a sweep's review --------------------------------------------------------------------


@dataclass(frozen=True)
class OfficerWatch:
    """An officer on a live deployment. `heard_at`: her phone's last sign of life known
    to anyone (now, while it is connected)."""

    officer_id: str
    deployment_id: str
    live_from: datetime
    interval_min: int | None
    last_checkin: datetime | None
    alerted_due: datetime | None
    heard_at: datetime | None
    checkin_set_at: datetime | None = None  # when the interval was last set or changed


@dataclass(frozen=True)
class CrewWatch:
    """A crew on an assignment (accepted, en route or on scene)."""

    crew_id: str
    alert_id: str
    since: datetime
    heard_at: datetime | None


@dataclass(frozen=True)
class Escort:
    officer_id: str
    alert_id: str
    due_at: datetime


@dataclass(frozen=True)
class NewWarning:
    id: str
    kind: str
    role: str  # "officer" | "crew"
    subject_id: str
    since: datetime
    deployment_id: str | None = None
    alert_id: str | None = None


@dataclass(frozen=True)
class CheckInAlert:
    officer_id: str
    deployment_id: str
    due: datetime
    alert_id: str


@dataclass
class Plan:
    warn: list[NewWarning] = field(default_factory=list)
    clear: list[tuple[str, str]] = field(default_factory=list)  # (warning id, cleared_by)
    raise_checkin: list[CheckInAlert] = field(default_factory=list)
    fire_escorts: list[Escort] = field(default_factory=list)


def review(
    now: datetime,
    *,
    officers: Iterable[OfficerWatch],
    crews: Iterable[CrewWatch],
    escorts: Iterable[Escort],
    active: Iterable[str],
    rules: Rules,
    started_at: datetime | None = None,
) -> Plan:
    """What a sweep must do: warnings to make (those not on the board yet), warnings to
    clear (and why), check-in alerts to raise, escort timers that ran out.

    `started_at`: when this process started. Within `rules.startup_grace_s` of it nothing
    new is decided (no warning, no check-in alert, no escort timer fired): what is on the
    board stays, and clears as usual when its subject is back or checks in."""
    plan, active = Plan(), set(active)
    hold = starting(now, started_at, rules)
    wanted: set[str] = set()
    watched: set[str] = set()  # warning ids whose subject is still watched
    for o in officers:
        silent_id = silent_warning_id("officer", o.officer_id)
        watched.add(silent_id)
        since = silent_since(heard_at=o.heard_at, watched_from=o.live_from)
        if is_silent(now, since, rules):
            wanted.add(silent_id)
            if silent_id not in active and not hold:
                plan.warn.append(
                    NewWarning(silent_id, SILENT, "officer", o.officer_id, since, o.deployment_id)
                )
        if o.interval_min is None:
            continue
        checkin_id = checkin_warning_id(o.officer_id)
        watched.add(checkin_id)
        due = checkin_due(
            live_from=o.live_from,
            last_at=o.last_checkin,
            interval_min=o.interval_min,
            set_at=o.checkin_set_at,
        )
        stage = checkin_stage(now, due, rules)
        if stage is Stage.FINE:
            continue
        wanted.add(checkin_id)
        if hold:
            continue
        if checkin_id not in active:
            plan.warn.append(
                NewWarning(checkin_id, CHECKIN, "officer", o.officer_id, due, o.deployment_id)
            )
        if stage is Stage.ALERT and o.alerted_due != due:
            alert_id = checkin_alert_id(o.deployment_id, o.officer_id, due)
            plan.raise_checkin.append(CheckInAlert(o.officer_id, o.deployment_id, due, alert_id))
    for c in crews:
        silent_id = silent_warning_id("crew", c.crew_id)
        watched.add(silent_id)
        since = silent_since(heard_at=c.heard_at, watched_from=c.since)
        if is_silent(now, since, rules):
            wanted.add(silent_id)
            if silent_id not in active and not hold:
                plan.warn.append(
                    NewWarning(silent_id, SILENT, "crew", c.crew_id, since, None, c.alert_id)
                )
    for warning_id in sorted(active - wanted):
        if warning_id not in watched:
            plan.clear.append((warning_id, "ended"))
        else:
            plan.clear.append(
                (warning_id, "checkin" if warning_id.startswith("checkin:") else "back")
            )
    if not hold:
        plan.fire_escorts = [e for e in escorts if escort_ran_out(now, e.due_at)]
    return plan
