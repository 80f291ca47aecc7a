"""How long one ranking takes as the number of crews grows (pure index, no server).

Prints microseconds per `CrewIndex.rank` call at 1k, 10k and 100k crews and writes
them to bench/results/rank.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from dispatch.core.matching import CrewIndex, RankingRules
from schemas.common import CrewMode

RULES = RankingRules(
    fresh_s=60,
    detour_factor=1.4,
    speed_mps={CrewMode.FOOT: 2.0, CrewMode.BIKE: 5.0, CrewMode.CAR: 9.0},
)
CENTRE = (52.0565, -2.7160)


def build(n: int, rng: random.Random, now: float) -> CrewIndex:
    index = CrewIndex()
    modes = list(RULES.speed_mps)
    for i in range(n):
        crew = f"crew-{i}"
        index.set_speed(crew, RULES.speed_mps[modes[i % 3]])
        index.set_position(
            crew,
            CENTRE[0] + rng.uniform(-0.3, 0.3),
            CENTRE[1] + rng.uniform(-0.5, 0.5),
            now - rng.uniform(0, 120),  # about half are stale
        )
        index.set_ready(crew, rng.random() < 0.7)
    return index


def measure(n: int, calls: int, rng: random.Random) -> dict[str, float]:
    now = time.time()
    index = build(n, rng, now)
    timings = []
    for _ in range(calls):
        lat, lon = CENTRE[0] + rng.uniform(-0.2, 0.2), CENTRE[1] + rng.uniform(-0.3, 0.3)
        exclude = {f"crew-{rng.randrange(n)}" for _ in range(3)}
        start = time.perf_counter()
        index.rank(lat, lon, now=now, rules=RULES, limit=2, exclude=exclude)
        timings.append((time.perf_counter() - start) * 1e6)
    timings.sort()
    return {
        "crews": n,
        "calls": calls,
        "p50_us": round(statistics.median(timings), 1),
        "p99_us": round(timings[int(len(timings) * 0.99) - 1], 1),
        "max_us": round(timings[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/rank.json"))
    args = parser.parse_args()
    rng = random.Random(1)
    rows = [measure(n, args.calls, rng) for n in (1_000, 10_000, 100_000)]
    print(f"{'crews':>8} {'p50 us':>8} {'p99 us':>8} {'max us':>8}")
    for r in rows:
        print(f"{r['crews']:>8} {r['p50_us']:>8} {r['p99_us']:>8} {r['max_us']:>8}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "python": platform.python_version(),
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
