"""The cost of one optimizer step: the fused engine against the numpy engine, on the same batches.

For each case the same network (structural lifting, as ``nlp train`` builds it) takes the same
sequence of Adam steps on both engines, from the same weights, timed in this run:

* ``numpy``: ``CompiledNetwork.value_and_grad`` (a plan per batch, cached, run op by op on the
  tape) then ``Adam.step`` on the dict of weights - what every step cost before the fused engine;
* ``fused``: ``FusedTrainer.step`` - one compiled call doing reach, forward, loss, backward and
  the update on flat buffers.

Printed per case and batch size: microseconds per step (median over the epoch's steps, so the
steps of large and small samples both count), the ratio, and the fused call split into its
parts (forward alone, forward + backward, the whole step) for one typical batch. The *fixed*
cost is the step on the smallest program (XOR, one neuron per rule). Batches are the samples in
a fixed random order, cut in batches (as ``shuffle="batches"``).

    python benchmarks/step_cost.py            # every case whose data is present
    python benchmarks/step_cost.py --quick    # fewer steps
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

from neuralogic_py.engine import fused  # noqa: E402
from neuralogic_py.learn.losses import MSE  # noqa: E402
from neuralogic_py.learn.model import Model  # noqa: E402
from neuralogic_py.learn.optimizers import Adam  # noqa: E402
from neuralogic_py.neural.program import FusedTrainer  # noqa: E402


def cases() -> list[tuple[str, Path, Path, Path | None]]:
    """(name, template, examples, queries) of every case whose files exist."""
    out = [("xor (fixed cost)", REPO / "templates" / "xor.rules", REPO / "datasets" / "xor" / "examples.txt", None)]
    c11 = SHARED / "conformance" / "c11_mutagenesis_gnn"
    if c11.is_dir():
        out.append(("mutagenesis, c11", c11 / "template.txt", c11 / "examples.txt", c11 / "queries.txt"))
    nations = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / \
        "site-packages" / "neuralogic" / "utils" / "data" / "datasets" / "nations"
    kb = SHARED / "datasets" / "kbs" / "nations"
    if (nations / "template.txt").is_file() and kb.is_dir():
        out.append(("nations, reference template", nations / "template.txt", kb / "examples.txt", kb / "queries.txt"))
    return out


def per_step(fn, batches: list[np.ndarray]) -> float:
    """Median seconds of ``fn(batch)`` over ``batches``."""
    times = []
    for b in batches:
        t = time.perf_counter()
        fn(b)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(name: str, template: Path, examples: Path, queries: Path | None, batch_size: int, steps: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Model(template, seed=1)
        _, net = model.build(str(examples), queries=queries)
    n = len(net.samples)
    order = np.random.default_rng(0).permutation(n)
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)][:steps]
    targets = net.targets()
    params = {k: v.copy() for k, v in net.store.learnable().items()}
    adam = Adam(lr=0.001)

    def numpy_step(batch: np.ndarray) -> None:
        _, grads = net.value_and_grad(params, MSE(), targets[batch], batch)
        adam.step(params, grads)

    for b in batches:  # every plan compiled once, as over a training's epochs
        net.plan(b)
    numpy_time = per_step(numpy_step, batches)
    trainer = FusedTrainer(net.program(), {k: v.copy() for k, v in net.store.learnable().items()}, Adam(lr=0.001),
                           "mse", targets, None)
    trainer.step(batches[0])  # compiled (or loaded from the cache) before timing
    fused_time = per_step(trainer.step, batches)
    p, b = net.program(), batches[len(batches) // 2]
    out, t = p.output_rows(b), np.ascontiguousarray(targets[b].reshape(len(b), -1))
    parts = {mode: per_step(lambda _: p.run(code, out, t), [b] * 200)
             for mode, code in (("forward", fused.FORWARD), ("+backward", fused.GRADIENTS))}
    print(f"| {name} | {batch_size} | {1e6 * numpy_time:.0f} | {1e6 * fused_time:.1f} | "
          f"{numpy_time / fused_time:.1f}x | {1e6 * parts['forward']:.1f} / {1e6 * parts['+backward']:.1f} |",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 steps per case instead of 2000")
    args = parser.parse_args()
    steps = 200 if args.quick else 2000
    print("| case | batch | numpy engine, us/step | fused engine, us/step | speed-up | fused forward / forward+backward, us |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, template, examples, queries in cases():
        for batch_size in (1, 32):
            measure(name, template, examples, queries, batch_size, steps)


if __name__ == "__main__":
    main()
