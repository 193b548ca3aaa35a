"""Timing and memory helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``,
so this folder is on ``sys.path``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable


def best_time(fun: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` calls of ``fun``, in seconds (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fun()
        best = min(best, time.perf_counter() - start)
    return best


def rss_mb() -> float:
    """The process's resident memory now (MB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (MB; ``ru_maxrss`` is in kilobytes on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
