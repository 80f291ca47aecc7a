"""How long the planner takes on a full-size operation (pure code, no server).

50 places (risk 1-3, hourly weights 0.5-2), four weeks at hourly slots, allowed local
hours 7-22 in Europe/London, 120 deployments of 45-120 minutes, 12 officers and 8 crews.
Times `target_coverage`, `generate_plan` (which includes the coverage and the figures)
and `evaluate` separately over `--repeat` runs, with `secrets.SystemRandom()`; prints
the figures and timings and writes them to bench/results/plan_bench.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import secrets
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dispatch.planning import Place, Problem, check_rules, evaluate, generate_plan, target_coverage


def operation(places: int, count: int, all_hours: bool) -> Problem:
    shape = random.Random(0)  # a fixed operation; the plans themselves use SystemRandom
    start = datetime(2025, 3, 3, tzinfo=UTC)
    return Problem(
        window_start=start,
        window_end=start + timedelta(weeks=4),
        places=tuple(
            Place(
                f"P{i}",
                shape.uniform(1.0, 3.0),
                tuple(shape.uniform(0.5, 2.0) for _ in range(24)),
            )
            for i in range(places)
        ),
        count=count,
        min_duration=timedelta(minutes=45),
        max_duration=timedelta(minutes=120),
        officers=tuple(f"O{i}" for i in range(12)),
        crews=tuple(f"C{i}" for i in range(8)),
        allowed_hours=None if all_hours else frozenset(range(7, 22)),
        timezone="Europe/London",
    )


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return times, result


def summary(times: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(times), "max_s": max(times), "min_s": min(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--places", type=int, default=50)
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--all-hours", action="store_true", help="any hour (33,600 cells)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/plan_bench.json"))
    args = parser.parse_args()
    problem = operation(args.places, args.count, args.all_hours)
    rng = secrets.SystemRandom()

    cov_times, cov = timed(lambda: target_coverage(problem), args.repeat)
    plan_times, plan = timed(lambda: generate_plan(problem, rng), args.repeat)
    eval_times, _ = timed(lambda: evaluate(problem, plan.deployments), args.repeat)
    f = plan.figures
    result = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor()},
        "operation": {
            "places": args.places,
            "slots": cov.grid.count,
            "cells": int(cov.cover.size),
            "count": args.count,
            "deployments": len(plan.deployments),
            "violations": len(check_rules(problem, plan.deployments)),
            "warnings": list(plan.warnings),
        },
        "target_coverage": summary(cov_times),
        "generate_plan": summary(plan_times),
        "evaluate": summary(eval_times),
        "figures": {
            "m1_ratio": f.m1_ratio,
            "m1_coverage_error": f.m1_coverage_error,
            "m2_entropy_ratio": f.m2_entropy_ratio,
            "m3_predictability": f.m3_predictability,
            "m3_best_predictor": f.m3_best_predictor,
            "m4_gap_regularity": f.m4_gap_regularity,
            **f.details,
        },
    }
    for name in ("target_coverage", "generate_plan", "evaluate"):
        s = result[name]
        print(f"{name:16} median {s['median_s'] * 1000:7.1f} ms   max {s['max_s'] * 1000:7.1f} ms")
    print(json.dumps(result["operation"], indent=1))
    print(json.dumps(result["figures"], indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
