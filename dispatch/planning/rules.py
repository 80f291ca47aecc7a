"""The rules a plan must keep, checked on any list of deployments.

Codes (stable; the API shows them):

- `naive_time`: a start or end without a timezone (nothing else is checked for it);
- `duration`: end not after start, or length outside [min_duration, max_duration];
- `window`: starts before the window or ends after it;
- `hours`, `weekday`: some instant of [start, end) is outside the allowed local hours /
  weekdays (the whole deployment must be allowed, not only its start; see `slots`);
- `unknown_place`, `unknown_officer`, `unknown_crew`: not in the problem;
- `team_size`: fewer distinct officers / crews than the problem asks for (more is fine);
- `duplicate_member`: the same officer or crew twice in one deployment;
- `place_gap`: a place used again less than `rules.gap_floor` after an end (end -> next
  start), overlaps included (the fixed gap, or the lower bound of a gap range: the
  sampler draws each new deployment's gap within the range, see `model.Rules`);
- `overlap_officer`, `overlap_crew`: one person or crew in two overlapping deployments;
- `rest`: less than `rules.rest` between one officer's deployments (end -> next start);
- `per_day`: an officer starts more than `rules.per_officer_per_day` deployments on one
  local day.

Crews have no rest or per-day rule (the issue sets those for officers only); they may
not be in two places at once. `Ledger` applies the same rules one deployment at a time
for the sampler, so a generated plan passes `check_rules` by construction (and tests).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dispatch.planning.model import Deployment, Problem, Violation

_PROBE = timedelta(minutes=15)
_TICK = timedelta(microseconds=1)


def time_breaks(problem: Problem, start: datetime, end: datetime, zone: ZoneInfo) -> set[str]:
    """`hours` / `weekday` when some instant of [start, end) is not allowed.

    Probing every 15 minutes (and the last instant) sees every local hour touched,
    since zone offsets are multiples of 15 minutes."""
    hours, days = problem.allowed_hours, problem.allowed_weekdays
    broken: set[str] = set()
    if hours is None and days is None:
        return broken
    t = start
    probes = []
    while t < end:
        probes.append(t)
        t += _PROBE
    probes.append(end - _TICK if end > start else start)
    for p in probes:
        lt = p.astimezone(zone)
        if hours is not None and lt.hour not in hours:
            broken.add("hours")
        if days is not None and lt.weekday() not in days:
            broken.add("weekday")
    return broken


def _aware(d: Deployment) -> bool:
    return d.start.utcoffset() is not None and d.end.utcoffset() is not None


def _single(problem: Problem, d: Deployment, zone: ZoneInfo) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    length = d.end - d.start
    if length <= timedelta(0) or not problem.min_duration <= length <= problem.max_duration:
        out.append(
            (
                "duration",
                f"lasts {span(length)}, outside "
                f"{span(problem.min_duration)}-{span(problem.max_duration)}",
            )
        )
    if d.start < problem.window_start or d.end > problem.window_end:
        out.append(("window", "is not inside the planning window"))
    for code in sorted(time_breaks(problem, d.start, d.end, zone)):
        what = "hours" if code == "hours" else "weekdays"
        out.append((code, f"runs outside the allowed local {what}"))
    if d.place_id not in {p.id for p in problem.places}:
        out.append(("unknown_place", f"uses unknown place {d.place_id!r}"))
    for kind, members, known, need in (
        ("officer", d.officers, problem.officers, problem.officers_per_deployment),
        ("crew", d.crews, problem.crews, problem.crews_per_deployment),
    ):
        if len(set(members)) != len(members):
            out.append(("duplicate_member", f"lists a {kind} twice"))
        if len(set(members)) < need:
            out.append(("team_size", f"has {len(set(members))} {kind}s, needs {need}"))
        unknown = sorted(set(members) - set(known))
        if unknown:
            out.append((f"unknown_{kind}", f"has unknown {kind}s {', '.join(unknown)}"))
    return out


def _sequence_breaks(
    items: Iterable[tuple[int, Deployment]], gap: timedelta, overlap: str, short: str | None
) -> list[tuple[str, int, int]]:
    """Pairs (earlier, later) closer than `gap` end -> start; overlaps reported as `overlap`."""
    ordered = sorted(items, key=lambda item: (item[1].start, item[0]))
    out: list[tuple[str, int, int]] = []
    latest: tuple[datetime, int] | None = None
    for index, d in ordered:
        if latest is not None:
            end, other = latest
            if end > d.start:
                out.append((overlap, other, index))
            elif short is not None and end + gap > d.start:
                out.append((short, other, index))
        if latest is None or d.end > latest[0]:
            latest = (d.end, index)
    return out


def check_rules(problem: Problem, deployments: Sequence[Deployment]) -> list[Violation]:
    """Every broken rule, in a stable order; [] when the deployments keep them all."""
    zone = ZoneInfo(problem.timezone)
    rules = problem.rules
    found: list[Violation] = []
    ok: list[tuple[int, Deployment]] = []
    for i, d in enumerate(deployments):
        if not _aware(d):
            found.append(Violation("naive_time", f"deployment {i} has a time without a zone", (i,)))
            continue
        ok.append((i, d))
        for code, text in _single(problem, d, zone):
            where = f"deployment {i} at {d.place_id} {text} ({_local(d, zone)})"
            found.append(Violation(code, where, (i,)))
    by_place: dict[str, list[tuple[int, Deployment]]] = defaultdict(list)
    by_officer: dict[str, list[tuple[int, Deployment]]] = defaultdict(list)
    by_crew: dict[str, list[tuple[int, Deployment]]] = defaultdict(list)
    for i, d in ok:
        by_place[d.place_id].append((i, d))
        for o in set(d.officers):
            by_officer[o].append((i, d))
        for c in set(d.crews):
            by_crew[c].append((i, d))
    pairs: list[tuple[str, str, int, int]] = []
    for place, items in sorted(by_place.items()):
        for code, a, b in _sequence_breaks(items, rules.gap_floor, "place_gap", "place_gap"):
            gap = span(rules.gap_floor)
            pairs.append((code, f"place {place} is used again within {gap}", a, b))
    for officer, items in sorted(by_officer.items()):
        for code, a, b in _sequence_breaks(items, rules.rest, "overlap_officer", "rest"):
            text = (
                "is in two deployments at once"
                if code != "rest"
                else f"rests less than {span(rules.rest)} between them"
            )
            pairs.append((code, f"officer {officer} {text}", a, b))
        per_day: dict[date, list[int]] = defaultdict(list)
        for i, d in items:
            per_day[d.start.astimezone(zone).date()].append(i)
        for day, indexes in sorted(per_day.items()):
            if len(indexes) > rules.per_officer_per_day:
                found.append(
                    Violation(
                        "per_day",
                        f"officer {officer} starts {len(indexes)} deployments on {day} "
                        f"(at most {rules.per_officer_per_day})",
                        tuple(sorted(indexes)),
                    )
                )
    for crew, items in sorted(by_crew.items()):
        for code, a, b in _sequence_breaks(items, timedelta(0), "overlap_crew", None):
            pairs.append((code, f"crew {crew} is in two deployments at once", a, b))
    for code, text, a, b in pairs:
        when = f"{_local(deployments[a], zone)} and {_local(deployments[b], zone)}"
        found.append(Violation(code, f"{text} (deployments {a} and {b}: {when})", (a, b)))
    return found


def span(length: timedelta) -> str:
    """A rule's length as people say it: "11 h", "2 days", "1 day 12 h", "90 min"."""
    minutes = round(length.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return " ".join(parts)


def _local(d: Deployment, zone: ZoneInfo) -> str:
    return d.start.astimezone(zone).strftime("%a %d %b %H:%M")


class Ledger:
    """The deployments accepted so far, to test one more against every pairwise rule."""

    def __init__(self, problem: Problem, zone: ZoneInfo) -> None:
        self.problem = problem
        self.zone = zone
        self.place: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        self.officer: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        self.officer_days: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        self.crew: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)

    @staticmethod
    def _clear(
        spans: list[tuple[datetime, datetime]], s: datetime, e: datetime, gap: timedelta
    ) -> bool:
        return all(e + gap <= a or b + gap <= s for a, b in spans)

    def place_free(
        self, place: str, start: datetime, end: datetime, gap: timedelta | None = None
    ) -> bool:
        """No visit to `place` within `gap` (default: the rules' least gap) either side."""
        least = self.problem.rules.gap_floor
        return self._clear(self.place[place], start, end, least if gap is None else max(gap, least))

    def officers_free(self, start: datetime, end: datetime) -> list[str]:
        day = start.astimezone(self.zone).date()
        rules = self.problem.rules
        return [
            o
            for o in self.problem.officers
            if self.officer_days[o][day] < rules.per_officer_per_day
            and self._clear(self.officer[o], start, end, rules.rest)
        ]

    def crews_free(self, start: datetime, end: datetime) -> list[str]:
        return [
            c for c in self.problem.crews if self._clear(self.crew[c], start, end, timedelta(0))
        ]

    def add(self, d: Deployment) -> None:
        self.place[d.place_id].append((d.start, d.end))
        day = d.start.astimezone(self.zone).date()
        for o in set(d.officers):
            self.officer[o].append((d.start, d.end))
            self.officer_days[o][day] += 1
        for c in set(d.crews):
            self.crew[c].append((d.start, d.end))
