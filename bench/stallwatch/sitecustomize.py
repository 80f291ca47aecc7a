"""What the server's main thread is doing when its event loop stalls (a benchmark aid).

Put this folder first on the server's PYTHONPATH (`load_bench.py --server-env
PYTHONPATH=bench/stallwatch:.`, see bench/README.md): Python imports `sitecustomize` at
start-up, and this one starts a thread that samples the main thread's stack every
`STALLWATCH_EVERY_S` (default 0.02 s). While one frame outside the idle loop stays on the
stack sample after sample, the loop is stuck in one callback (or one task hogs it); once
that has lasted `STALLWATCH_MIN_S` (default 0.2 s) and ends, the stall's length and its
most sampled stacks are appended to `STALLWATCH_OUT` (default stallwatch.txt in the
working directory). Sampling takes the GIL for a moment each time: it is not for the
figures of a run, only for finding where a long stall comes from.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections import Counter
from types import FrameType

EVERY_S = float(os.environ.get("STALLWATCH_EVERY_S", "0.02"))
MIN_S = float(os.environ.get("STALLWATCH_MIN_S", "0.2"))
OUT = os.environ.get("STALLWATCH_OUT", "stallwatch.txt")
DEPTH = 14  # innermost frames kept per stack
# "1": a stall is any run of busy samples, whatever runs (a turn with many callbacks,
# a backlog, counts as one); its report then also says which callbacks took the samples.
TURNS = os.environ.get("STALLWATCH_TURNS") == "1"


_collecting: list[int] = []  # the generation being collected, while the collector runs


def _on_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _collecting.append(info["generation"])
    elif _collecting:
        _collecting.pop()


def _chain(frame: FrameType | None) -> list[FrameType]:
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    frames.reverse()  # outermost first
    return frames


def _where(frame: FrameType) -> str:
    code = frame.f_code
    return f"{code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} {code.co_name}"


LOOP_FRAMES = {  # where the loop itself runs: the frames under it run one callback
    ("runners.py", "run"),
    ("base_events.py", "run_until_complete"),
    ("base_events.py", "run_forever"),
    ("base_events.py", "_run_once"),
    ("events.py", "_run"),
}
IDLE_FRAMES = {("selectors.py", "select")}  # the standard loop waiting: not a stall


def _busy(frames: list[FrameType]) -> list[FrameType] | None:
    """The frames above the loop's own, or None before the loop runs."""
    inner = frames[-1].f_code if frames else None
    if inner is not None and (inner.co_filename.rsplit("/", 1)[-1], inner.co_name) in IDLE_FRAMES:
        return []
    for i in range(len(frames) - 1, -1, -1):
        code = frames[i].f_code
        if (code.co_filename.rsplit("/", 1)[-1], code.co_name) in LOOP_FRAMES:
            return frames[i + 1 :]
    return None


def _watch(main: int) -> None:
    root: tuple[int, object] | None = None
    started = 0.0
    stacks: Counter[tuple[str, ...]] = Counter()
    roots: Counter[str] = Counter()
    while True:
        time.sleep(EVERY_S)
        frame = sys._current_frames().get(main)
        if frame is None:
            return
        try:
            busy = _busy(_chain(frame))
        except AttributeError:
            # A frame torn down while it was walked (seen on 3.11 under load): this
            # sample is lost, the watch goes on.
            continue
        now = time.perf_counter()
        if TURNS:
            key: tuple[int, object] | None = (0, "busy") if busy else None
        else:
            key = (id(busy[0]), busy[0].f_code) if busy else None
        if key != root:
            if root is not None and now - started >= MIN_S:
                _report(now - started, stacks, roots)
            root, started = key, now
            stacks, roots = Counter(), Counter()
        if busy:
            gen = [f"[collecting generation {_collecting[-1]}]"] if _collecting else []
            stacks[tuple([*(_where(f) for f in busy[-DEPTH:]), *gen])] += 1
            roots[" > ".join(_where(f) for f in busy[:3])] += 1


def _report(seconds: float, stacks: Counter[tuple[str, ...]], roots: Counter[str]) -> None:
    lines = [f"--- {time.strftime('%H:%M:%S')} pid {os.getpid()}: stall of {seconds * 1000:.0f} ms"]
    if TURNS:
        lines.extend(f"  {n} x {root}" for root, n in roots.most_common(8))
    for stack, n in stacks.most_common(4):
        lines.append(f"  {n} samples:")
        lines.extend(f"    {where}" for where in stack)
    with open(OUT, "a") as out:
        out.write("\n".join(lines) + "\n")


gc.callbacks.append(_on_gc)
threading.Thread(target=_watch, args=(threading.get_ident(),), daemon=True).start()
