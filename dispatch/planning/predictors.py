"""M3: how well simple predictors that watched the earlier deployments guess the next one.

Deployments are taken in start order. For each deployment k >= 1, each predictor
sees deployments 0..k-1 and guesses one attribute of deployment k:

- `frequent_place`: the most frequent place so far;
- `last_place`: the previous deployment's place repeated;
- `place_follows`: the place that most often followed the previous deployment's
  place so far ("places that go together"); with no such history it falls back to
  the baseline's guess;
- `frequent_hour`, `frequent_weekday`: the most frequent local start hour / weekday
  of deployments on earlier local days;
- `last_hour`: the start hours of the last earlier day with deployments, repeated.

Time-of-day and weekday predictors look only at earlier days: in start order the
same day's deployments would reward having several a day, not a predictable plan
(yesterday's weekday is never today's). `frequent_weekday` is scored from the second
week on, once every weekday has had its chance.

(The previous *weekday* repeated is not a predictor: in start order the next
deployment is usually on the same or the next day whatever the plan, so it would
measure the count per day, not the plan's predictability.)

Ties are scored fairly: a guess among `t` tied values scores `1/t` when the real
value is one of them (the expected hit of breaking the tie at random).

**Baseline**: an offender who knows only the target coverage does best by always
guessing its mode, so the baseline hit rate of a dimension is the largest share
of the target's start weight (place, local start hour, or local weekday). Using
the mode rather than `sum p^2` (a guesser who samples from the target) makes the
baseline the strongest coverage-only guesser, so M3 > 1 means watching the plan
really helps.

Each predictor's ratio is `(hits + 10) / (n b + 10)` for `n` guesses at baseline
rate `b`: ten baseline hits are added to both sides. Hits are binomial, so for a
4-week plan of 50 (about 3 expected hour hits) one predictor's raw ratio varies by
+-0.5 from luck alone; smoothed it is about +-0.13, while a weekly rota (hits close
to `n`) still reads 3 or more. M3 is the largest ratio over the predictors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

_PRIOR = 10.0  # baseline hits added to both sides
_DIMENSION = {
    "frequent_place": "place",
    "last_place": "place",
    "place_follows": "place",
    "frequent_hour": "hour",
    "last_hour": "hour",
    "frequent_weekday": "weekday",
}


def _tie_score(counts: Counter[int], actual: int) -> float:
    if not counts:
        return 0.0
    top = max(counts.values())
    modes = [v for v, c in counts.items() if c == top]
    return 1.0 / len(modes) if actual in modes else 0.0


def _mode_score(shares: Sequence[float], actual: int) -> float:
    top = max(shares, default=0.0)
    if top <= 0:
        return 0.0
    modes = [i for i, s in enumerate(shares) if s >= top * (1 - 1e-9)]
    return 1.0 / len(modes) if actual in modes else 0.0


def _baseline(shares: Sequence[float]) -> float:
    total = float(sum(shares))
    return max(shares) / total if total > 0 else 1.0


def predictability(
    places: Sequence[int],
    hours: Sequence[int],
    weekdays: Sequence[int],
    days: Sequence[int],
    place_shares: Sequence[float],
    hour_shares: Sequence[float],
    weekday_shares: Sequence[float],
) -> tuple[float, str, dict[str, float]]:
    """(M3, the best predictor's name, every predictor's ratio) for deployments in start
    order; `days` are their local dates as ordinals."""
    n = len(places)
    hits = dict.fromkeys(_DIMENSION, 0.0)
    seen_place: Counter[int] = Counter()
    seen_hour: Counter[int] = Counter()
    seen_day: Counter[int] = Counter()
    last_day: Counter[int] = Counter()  # start hours of the last earlier day
    follows: dict[int, Counter[int]] = {}
    guesses = dict.fromkeys(_DIMENSION, 0)
    earlier = 0  # deployments on days before deployment k's day are counted
    for k in range(n):
        while days[earlier] < days[k]:
            seen_hour[hours[earlier]] += 1
            seen_day[weekdays[earlier]] += 1
            if earlier == 0 or days[earlier] != days[earlier - 1]:
                last_day = Counter()
            last_day[hours[earlier]] = 1
            earlier += 1
        if seen_hour:
            for name, seen, value in (
                ("frequent_hour", seen_hour, hours[k]),
                ("last_hour", last_day, hours[k]),
            ):
                guesses[name] += 1
                hits[name] += _tie_score(seen, value)
        if days[k] - days[0] >= 7:  # a week of history first
            guesses["frequent_weekday"] += 1
            hits["frequent_weekday"] += _tie_score(seen_day, weekdays[k])
        if k > 0:
            p = places[k]
            for name in ("frequent_place", "last_place", "place_follows"):
                guesses[name] += 1
            hits["frequent_place"] += _tie_score(seen_place, p)
            hits["last_place"] += 1.0 if places[k - 1] == p else 0.0
            after = follows.get(places[k - 1])
            hits["place_follows"] += _tie_score(after, p) if after else _mode_score(place_shares, p)
            follows.setdefault(places[k - 1], Counter())[p] += 1
        seen_place[places[k]] += 1
    base = {
        "place": _baseline(place_shares),
        "hour": _baseline(hour_shares),
        "weekday": _baseline(weekday_shares),
    }
    ratios: dict[str, float] = {}
    for name, hit in hits.items():
        b = base[_DIMENSION[name]]
        ratios[name] = (hit + _PRIOR) / (guesses[name] * b + _PRIOR)
    best = max(ratios, key=lambda name: ratios[name])
    for dim, b in base.items():
        ratios[f"baseline_{dim}"] = b
    return ratios[best], best, ratios
