"""Fair shares: officers and crews get as many deployments as each other, give or take
one, as far as the rules allow, and who goes when stays unpredictable."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

from dispatch.planning import check_rules, evaluate, generate_plan
from dispatch.planning.shares import spread
from tests.planning.problems import operation, town


def test_the_demo_operation_shares_deployments_within_one() -> None:
    # Before fair shares the demo gave one officer 13 of 20 and another none.
    problem = town()
    for seed in range(20):
        plan = generate_plan(problem, random.Random(seed))
        f = plan.figures
        assert len(plan.deployments) == 20 and check_rules(problem, plan.deployments) == []
        assert sum(f.officer_shares.values()) == 20 and set(f.officer_shares) == {"O0", "O1", "O2"}
        assert spread(f.officer_shares) <= 1, f.officer_shares
        assert spread(f.crew_shares) <= 1, f.crew_shares
        assert not any("uneven" in w for w in plan.warnings)


def test_shares_are_even_with_two_officers_per_deployment_too() -> None:
    problem = operation(places=10, count=30, officers=5, crews=4, officers_per_deployment=2)
    for seed in range(5):
        plan = generate_plan(problem, random.Random(seed))
        assert check_rules(problem, plan.deployments) == []
        assert sorted(plan.figures.officer_shares.values()) == [12, 12, 12, 12, 12]
        assert spread(plan.figures.crew_shares) <= 1


def test_who_goes_when_is_not_a_rota() -> None:
    # Each officer is as likely as the others to have the first deployment, and the
    # officer who has waited longest goes next far less often than in a rota (always).
    problem = town()
    first: Counter[str] = Counter()
    waited = guesses = 0
    for seed in range(60):
        deps = generate_plan(problem, random.Random(seed)).deployments
        first[deps[0].officers[0]] += 1
        last = {o: -1 for o in problem.officers}
        for k, d in enumerate(deps):
            if k >= len(problem.officers):
                longest = min(last.values())
                guesses += 1
                waited += last[d.officers[0]] == longest
            last[d.officers[0]] = k
    assert min(first.values()) >= 10, first
    assert waited / guesses < 0.75, waited / guesses


def test_when_the_rules_leave_no_fair_split_the_plan_says_so() -> None:
    # O0 is pinned to five deployments; six are wanted, so O1 can have one at most.
    problem = operation(places=10, count=6, officers=2, crews=3, weeks=1)
    base = generate_plan(
        dataclasses.replace(problem, count=5, officers=("O0",)), random.Random(1)
    ).deployments
    pinned = tuple(dataclasses.replace(d, pinned=True) for d in base)
    plan = generate_plan(dataclasses.replace(problem, pinned=pinned), random.Random(2))
    assert plan.figures.officer_shares == {"O0": 5, "O1": 1}
    assert any("Shares are uneven: officers have from 1 to 5" in w for w in plan.warnings)


def test_the_figures_list_every_member_with_zeros() -> None:
    problem = town(count=4)
    deps = generate_plan(problem, random.Random(3)).deployments
    only = [dataclasses.replace(d, officers=("O0",), crews=("C0",)) for d in deps]
    f = evaluate(problem, only)
    assert f.officer_shares == {"O0": 4, "O1": 0, "O2": 0}
    assert f.crew_shares == {"C0": 4, "C1": 0, "C2": 0, "C3": 0, "C4": 0, "C5": 0}
