"""Scale-out on Ray: grounding and training a large molecule set on 1 and 2 workers, and a projection.

Data: ``--molecules`` generated molecules of NCI-like size (``chunked.py``'s generator: 15 to 45
atoms of six types, a random spanning tree plus up to four ring bonds), one ``predict`` query
line per molecule, written to a temporary folder. Template: ``templates/gnn.rules``.

For 1 and then 2 workers (a local Ray runtime on this machine, each worker capped at
``--max-memory`` per grounding step and grounding ``--chunk`` molecules at a time), it measures:

- building: reading, grounding and lifting every shard (each worker reads its byte range of
  the files itself), the layout survey (one worker scans the files' statement boundaries),
  molecules per second, and each worker's peak resident memory;
- one epoch of Adam at ``--batch-size`` (the trainer's steps on the driver, gradients from the
  workers), its selection pass included, and the bytes sent and received per step;
- the fixed cost of one call to every worker (an empty call, median of 200).

Like is compared with like: the same files, template, seed, chunks and batches on 1 and 2
workers (the same model: tests/test_scale.py). Ratios are 2 workers against 1 in the same run.

The projection to 8 and 64 machines (one worker per machine, the machine as fast as one worker
here) is written out with its assumptions: building splits evenly (each worker reads and
grounds its part; the survey stays serial), a worker's memory is its part's share of the
measured one above the imports, and an epoch is ``steps * (compute / M + overhead(M))`` with the
compute per step from the 1-worker run, the driver's fixed cost per worker and call from the
measured empty calls, plus a network round trip (``--rtt``) and the step's bytes at
``--bandwidth``.

Usage: ``python benchmarks/scale.py [--molecules 200000] [--chunk 1000] [--max-memory 6G]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import chunked  # noqa: E402  (the molecule generator)

from neuralogic_py.language.sources import Split  # noqa: E402
from neuralogic_py.learn.model import Model  # noqa: E402
from neuralogic_py.limits import parse_size  # noqa: E402
from neuralogic_py.scale import Cluster  # noqa: E402

TEMPLATE = HERE.parent / "templates" / "gnn.rules"
MACHINES = (8, 64)


def measure(workers: int, split: Split, args: argparse.Namespace) -> dict:
    """Build and one epoch on ``workers`` workers: the figures of the module docstring."""
    with Cluster(workers, max_memory=parse_size(args.max_memory), verbose=True) as cluster:
        model = Model(TEMPLATE, seed=0, chunk_size=args.chunk)
        started = time.perf_counter()
        data = cluster.load(split)
        read = time.perf_counter() - started
        _, network = model.build(data, cluster=cluster)
        built = time.perf_counter() - started
        calls = []
        for _ in range(200):
            t = time.perf_counter()
            cluster.call("peak_memory", {k: () for k in range(workers)}, replay=False)
            calls.append(time.perf_counter() - t)
        before = cluster.traffic()
        result = model.fit(data, cluster=cluster, epochs=1, batch_size=args.batch_size, optimizer="adam", lr=0.01)
        after = cluster.traffic()
        steps = -(-len(network.samples) // args.batch_size)
        return {"workers": workers, "samples": len(network.samples), "read": read, "build": built,
                "shard_seconds": [b.seconds for b in network.built], "peak": [b.peak_memory for b in network.built],
                "neurons": network.compression.final.neurons, "epoch": result.history.epoch_seconds[0],
                "steps": steps, "bytes_per_step": (after["sent"] + after["received"] - before["sent"]
                                                   - before["received"]) / steps,
                "call": statistics.median(calls)}


def project(one: dict, two: dict, machines: int, args: argparse.Namespace, imported: int) -> dict:
    """The assumptions of the module docstring applied to ``machines`` machines."""
    survey = one["read"]  # (the survey and the targets read, serial on 1 worker: an upper bound)
    grounding = one["build"] - one["read"]
    per_worker_call = max(two["call"] - one["call"], 0.0)  # the driver's cost per worker and call
    fixed_call = one["call"] - per_worker_call
    compute = max(one["epoch"] / one["steps"] - one["call"], 0.0)
    network = args.rtt + two["bytes_per_step"] / 2 * machines / args.bandwidth
    step = compute / machines + fixed_call + per_worker_call * machines + network
    memory = imported + (max(one["peak"]) - imported) / machines
    return {"machines": machines, "build": survey + grounding / machines, "epoch": one["steps"] * step,
            "memory": memory, "step_overhead": fixed_call + per_worker_call * machines + network}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=1000, help="molecules grounded at a time in a worker")
    parser.add_argument("--max-memory", default="6G", help="per worker: the most one grounding step may take")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--only-two", action="store_true",
                        help="measure 2 workers only (no 1-worker baseline, no ratios or projection)")
    parser.add_argument("--rtt", type=float, default=2e-4, help="projection: network round trip, s (LAN)")
    parser.add_argument("--bandwidth", type=float, default=1.25e9,
                        help="projection: the driver's network bandwidth, bytes/s (10 GbE)")
    args = parser.parse_args()
    import ray

    print(f"load average {os.getloadavg()[0]:.2f}; {args.molecules:,} generated NCI-like molecules, "
          f"templates/gnn.rules, chunks of {args.chunk}, at most {args.max_memory} per grounding step, "
          f"batch size {args.batch_size}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        chunked.write_set(folder, args.molecules)
        size = (folder / "examples.txt").stat().st_size
        print(f"wrote {size / 2**20:,.0f} MB of examples in {time.perf_counter() - started:.0f} s", flush=True)
        split = Split(folder / "examples.txt", folder / "queries.txt")
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level="ERROR")
        try:
            imported = _imported_memory()
            runs = [measure(workers, split, args) for workers in ((2,) if args.only_two else (1, 2))]
        finally:
            ray.shutdown()
    base = runs[0]  # the ratios' baseline: 1 worker (with --only-two, there are none)
    print()
    print("| workers | build (read + ground + lift) | molecules/s | peak memory per worker | neurons after lifting "
          "| epoch | steps | bytes per step | empty call |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        ratio = "" if r is base else f" ({base['build'] / r['build']:.2f}x)"
        epoch_ratio = "" if r is base else f" ({base['epoch'] / r['epoch']:.2f}x)"
        peaks = ", ".join(f"{p / 2**30:.2f} GB" for p in r["peak"])
        print(f"| {r['workers']} | {r['build']:.0f} s{ratio} | {r['samples'] / r['build']:,.0f} | {peaks} | "
              f"{r['neurons']:,} | {r['epoch']:.1f} s{epoch_ratio} | {r['steps']:,} | {r['bytes_per_step']:,.0f} | "
              f"{1000 * r['call']:.2f} ms |")
    if args.only_two:
        return
    one, two = runs
    print()
    print(f"projection (one worker per machine, each as fast as one here; RTT {1000 * args.rtt:g} ms, "
          f"{args.bandwidth / 1e9:g} GB/s at the driver; a worker process with the package imported: "
          f"{imported / 2**20:,.0f} MB):")
    print("| machines | build | memory per worker | overhead per step | epoch |")
    print("| --- | --- | --- | --- | --- |")
    for m in MACHINES:
        p = project(one, two, m, args, imported)
        print(f"| {m} | {p['build']:.0f} s | {p['memory'] / 2**30:.2f} GB | {1000 * p['step_overhead']:.2f} ms | "
              f"{p['epoch']:.1f} s |")


def _imported_memory() -> int:
    """Peak resident memory of a worker that has only started (the interpreter, numpy, Ray and the package)."""
    with Cluster(1) as cluster:
        return cluster.call("peak_memory", {0: ()}, replay=False)[0]


if __name__ == "__main__":
    main()
