"""Turning target coverage into how many deployments go where and at which hour.

A deployment covers the cells from its start for its length, so starts are drawn
with probability proportional to the (residual) target coverage of valid start
cells: slots from which at least `min_duration` of allowed time follows.

Both margins that M2 scores are drawn with **randomised-order systematic sampling**
(shuffle the items, then one systematic pass with a random start): each place, and
each local start hour, gets the floor or the ceiling of its expected number of
deployments, and because the order is shuffled every time, which items round up
together carries no pattern (a fixed-order comb would leak which places go
together). Places and hours are then paired one place-token at a time, in random
order, each choosing an hour with probability proportional to the target weight
of (place, hour) times the hour's remaining count, so the hour totals hold and
the pairing follows the target. The day is chosen later, when placing in time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def systematic(weights: Sequence[float], n: int, rng: random.Random) -> list[int]:
    """Counts per item summing to `n`, each the floor or ceiling of `n * w / sum(w)`."""
    total = float(sum(weights))
    counts = [0] * len(weights)
    if n <= 0 or total <= 0:
        return counts
    order = list(range(len(weights)))
    rng.shuffle(order)
    step = total / n
    first = rng.random() * step
    low = 0.0
    placed = 0
    for i in order:
        high = low + weights[i]
        # points first + k*step (k >= 0) in [low, high)
        k = max(0, math.ceil((high - first) / step)) - max(0, math.ceil((low - first) / step))
        k = min(k, n - placed)
        counts[i] = k
        placed += k
        low = high
    if placed < n:  # rounding at the very end
        best = max(range(len(weights)), key=lambda i: weights[i])
        counts[best] += n - placed
    return counts


def choose(weights: Sequence[float], rng: random.Random) -> int:
    """One index with probability proportional to its weight (uniform if all are zero)."""
    total = float(sum(weights))
    if total <= 0:
        return rng.randrange(len(weights))
    x = rng.random() * total
    for i, w in enumerate(weights):
        x -= w
        if x < 0:
            return i
    return max(i for i, w in enumerate(weights) if w > 0)


def weighted_order(weights: Sequence[float], rng: random.Random) -> list[int]:
    """Indexes in a random order, each next one drawn proportionally to its weight
    (Efraimidis-Spirakis keys); zero weights come last, shuffled."""
    keyed: list[tuple[float, int]] = []
    for i, w in enumerate(weights):
        u = rng.random() or 1e-300
        key = math.log(u) / w if w > 0 else -math.inf
        keyed.append((key, i))
    rng.shuffle(keyed)  # random order among equal keys
    keyed.sort(key=lambda item: item[0], reverse=True)
    return [i for _, i in keyed]


def pair_hours(
    place_counts: Sequence[int], hour_counts: Sequence[int], joint: FloatArray, rng: random.Random
) -> list[tuple[int, int]]:
    """(place, hour) tokens: every place its count, hours following `hour_counts`."""
    tokens = [p for p, k in enumerate(place_counts) for _ in range(k)]
    rng.shuffle(tokens)
    remaining = [float(k) for k in hour_counts]
    out: list[tuple[int, int]] = []
    for p in tokens:
        row = joint[p].tolist()
        w = [a * b for a, b in zip(row, remaining, strict=True)]
        if sum(w) <= 0:
            w = row
        h = choose(w, rng)
        remaining[h] = max(0.0, remaining[h] - 1)
        out.append((p, h))
    return out
