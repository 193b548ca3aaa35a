"""What the training bar costs: its per-batch call, and whole runs with and without it.

Two measurements, each against a baseline timed in the same run:

* the per-batch call, ``_Progress.batch`` with a live bar (drawn to /dev/null), against the same loop
  calling a method that does nothing (the cost of any call); nanoseconds per batch;
* whole trainings on the smallest step there is (XOR, online, the fused engine when its kernels are
  available: a few microseconds a step), with the bar against without it, alternated; the median
  time per optimizer step of each and their ratio. Selection is evaluated once, at the end, so the
  steps are what is timed.

    python benchmarks/progress_cost.py            # 7 runs of 20,000 steps each way
    python benchmarks/progress_cost.py --quick    # 3 runs of 4,000
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from neuralogic_py.learn.dataset import Dataset  # noqa: E402
from neuralogic_py.learn.model import Model  # noqa: E402
from neuralogic_py.learn.trainer import TrainingConfig, _Progress  # noqa: E402


class _Nothing:
    def batch(self, error: float, samples: int) -> None:
        pass


def per_batch_ns(calls: int) -> tuple[float, float]:
    """Nanoseconds per call: the bar's ``batch`` and a method doing nothing, in the same loop."""
    out = []
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        shown = _Progress(TrainingConfig(progress=True), 0, 1, calls, time.perf_counter())
        for call in (shown.batch, _Nothing().batch):
            started = time.perf_counter()
            for i in range(calls):
                call(1.0, i + 1)
            out.append(1e9 * (time.perf_counter() - started) / calls)
        shown.close()
    return out[0], out[1]


def step_us(epochs: int, runs: int) -> tuple[list[float], list[float], str]:
    """Microseconds per optimizer step of XOR online with and without the bar (``runs`` each, alternated)."""
    data = Dataset.load(REPO / "datasets" / "xor")
    with_bar, without, engine = [], [], ""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        for _ in range(runs):
            for progress, times in ((False, without), (True, with_bar)):
                model = Model(REPO / "templates" / "xor.rules", seed=0)
                result = model.fit(data, epochs=epochs, eval_every=epochs, batch_size=1, lr=0.05, progress=progress)
                times.append(1e6 * result.history.seconds / (epochs * len(data.examples)))
                engine = result.history.engine
    return with_bar, without, engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter runs")
    args = parser.parse_args()
    runs, epochs, calls = (3, 1000, 200_000) if args.quick else (7, 5000, 2_000_000)
    bar, nothing = per_batch_ns(calls)
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("| measured | with the bar | baseline | difference |")
    print("| --- | --- | --- | --- |")
    print(f"| one batch's call, ns (a method doing nothing) | {bar:.0f} | {nothing:.0f} | {bar - nothing:+.0f} |")
    with_bar, without, engine = step_us(epochs, runs)
    a, b = statistics.median(with_bar), statistics.median(without)
    print(f"| XOR online step, {engine} engine, us (median of {runs} runs of {4 * epochs} steps; no bar) "
          f"| {a:.2f} | {b:.2f} | {a / b:.3f}x |")


if __name__ == "__main__":
    main()
