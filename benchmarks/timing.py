"""Timing helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``,
so this folder is on ``sys.path``)."""

from __future__ import annotations

import time
from typing import Callable


def best_time(fun: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` calls of ``fun``, in seconds (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fun()
        best = min(best, time.perf_counter() - start)
    return best
