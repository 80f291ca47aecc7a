"""Runs the planner in a worker process, so that seconds of planning never hold up
the event loop that carries alerts. The worker draws from `secrets.SystemRandom`."""

from __future__ import annotations

import asyncio
import multiprocessing
import secrets
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from dispatch.planning import evaluate, generate_plan
from dispatch.planning.model import Deployment, Figures, Plan, Problem


def _generate(problem: Problem) -> Plan:
    return generate_plan(problem, secrets.SystemRandom())


def _evaluate(problem: Problem, deployments: Sequence[Deployment]) -> Figures:
    return evaluate(problem, deployments)


class PlannerPool:
    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
        return self._executor

    async def generate(self, problem: Problem) -> Plan:
        return await asyncio.get_running_loop().run_in_executor(self._pool(), _generate, problem)

    async def evaluate(self, problem: Problem, deployments: Sequence[Deployment]) -> Figures:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), _evaluate, problem, tuple(deployments))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
