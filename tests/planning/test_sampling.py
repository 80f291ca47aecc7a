"""Randomised-order systematic sampling."""

from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from dispatch.planning.sampling import systematic, weighted_order


@given(
    weights=st.lists(st.floats(0.0, 5.0), min_size=1, max_size=30),
    n=st.integers(0, 60),
    seed=st.integers(0, 2**32),
)
def test_each_count_is_the_floor_or_ceiling_of_its_expectation(
    weights: list[float], n: int, seed: int
) -> None:
    counts = systematic(weights, n, random.Random(seed))
    total = sum(weights)
    if total <= 0 or n == 0:
        assert counts == [0] * len(weights)
        return
    assert sum(counts) == n
    for w, k in zip(weights, counts, strict=True):
        expected = n * w / total
        assert math.floor(expected - 1e-6) <= k <= math.ceil(expected + 1e-6)


def test_which_items_round_up_changes_from_draw_to_draw() -> None:
    # Ten equal items, five draws: a fixed-order comb would always pick the same five.
    rng = random.Random(0)
    picks = {tuple(systematic([1.0] * 10, 5, rng)) for _ in range(50)}
    assert len(picks) > 20


def test_weighted_order_is_a_permutation_led_by_heavy_items() -> None:
    rng = random.Random(1)
    firsts = [weighted_order([0.0, 1.0, 9.0], rng)[0] for _ in range(2000)]
    assert sorted(weighted_order([0.0, 1.0, 9.0], rng)) == [0, 1, 2]
    assert firsts.count(0) == 0 and 0.85 < firsts.count(2) / 2000 < 0.95
