"""Randomised, risk-weighted operation planning: pure code, no I/O.

- `model`: the data the planner takes and gives;
- `slots`: the time grid and local hours/weekdays;
- `coverage`: target coverage (minimax LP, then highest entropy within tolerance);
- `sampling`: randomised-order systematic sampling of places and hours;
- `placing`: placing deployments in time with teams, keeping every rule;
- `rules`: `check_rules` and the incremental `Ledger`;
- `shares`: fair shares of deployments among the team's officers and crews;
- `figures`: M1, M2, M4, the shares and `compare`; `predictors`: M3; `recency`: M5;
- `planner`: `generate_plan` and `evaluate`.
"""

from dispatch.planning.coverage import Coverage, target_coverage
from dispatch.planning.figures import compare
from dispatch.planning.model import (
    Deployment,
    Figures,
    Place,
    Plan,
    Problem,
    Rules,
    Violation,
)
from dispatch.planning.planner import evaluate, generate_plan
from dispatch.planning.rules import check_rules

__all__ = [
    "Coverage",
    "Deployment",
    "Figures",
    "Place",
    "Plan",
    "Problem",
    "Rules",
    "Violation",
    "check_rules",
    "compare",
    "evaluate",
    "generate_plan",
    "target_coverage",
]
