"""Engine kernels: batched segment ops (forward + backward through the tape) against a per-segment
Python loop doing the same maths, measured in the same run; plus the alternatives to the chosen
segment-sum and shared-weight matmul kernels.

    python benchmarks/engine_ops.py            # members=200k, segments=20k, widths 1 and 16
    python benchmarks/engine_ops.py --members 1000000 --segments 100000

Printed ratios are loop time / batched time (higher = batched wins), and alternative / ours.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

# Small GEMMs gain nothing from BLAS threads, and threads spinning on shared cores made a
# (200k x 3) @ (3 x 3) product 100-400x slower here; export OPENBLAS_NUM_THREADS to override.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from neuralogic_py.engine import Segments, backward, ops, variable  # noqa: E402
from timing import best_time  # noqa: E402


def tape_forward_backward(op, x: np.ndarray, seg: Segments, seed: np.ndarray) -> Callable[[], object]:
    def run():
        v = variable(x)
        return backward(op(v, seg), [v], seed=seed)
    return run


# -- the per-segment loop doing the same forward and backward maths --------------------------

def loop_sum(x, seg, g):
    out, gx = np.empty((seg.n_segments, *x.shape[1:])), np.empty_like(x)
    for s, (a, b) in enumerate(zip(seg.starts, seg.starts + seg.counts)):
        out[s] = x[a:b].sum(axis=0)
    for s, (a, b) in enumerate(zip(seg.starts, seg.starts + seg.counts)):
        gx[a:b] = g[s]
    return out, gx


def loop_mean(x, seg, g):
    out, gx = np.empty((seg.n_segments, *x.shape[1:])), np.empty_like(x)
    for s, (a, b) in enumerate(zip(seg.starts, seg.starts + seg.counts)):
        out[s] = x[a:b].mean(axis=0)
    for s, (a, b) in enumerate(zip(seg.starts, seg.starts + seg.counts)):
        gx[a:b] = g[s] / (b - a)
    return out, gx


def loop_max(x, seg, g):
    out, gx = np.empty((seg.n_segments, *x.shape[1:])), np.zeros_like(x)
    flat = x.reshape(len(x), -1)
    for s, (a, b) in enumerate(zip(seg.starts, seg.starts + seg.counts)):
        out[s] = x[a:b].max(axis=0)
    gflat = gx.reshape(len(x), -1)
    columns = np.arange(flat.shape[1])
    for s, (a, b) in enumerate(zip(seg.starts, seg.starts + seg.counts)):
        gflat[a + flat[a:b].argmax(axis=0), columns] = g[s].ravel()
    return out, gx


def loop_softmax(x, seg, g):
    out, gx = np.empty_like(x), np.empty_like(x)
    for s, (a, b) in enumerate(zip(seg.starts, seg.starts + seg.counts)):
        e = np.exp(x[a:b] - x[a:b].max(axis=0))
        out[a:b] = e / e.sum(axis=0)
    for s, (a, b) in enumerate(zip(seg.starts, seg.starts + seg.counts)):
        y = out[a:b]
        gx[a:b] = y * (g[a:b] - (g[a:b] * y).sum(axis=0))
    return out, gx


def loop_gather(x, seg, g):
    out = np.empty((seg.n_members, *x.shape[1:]))
    gx = np.zeros_like(x)
    for j, s in enumerate(seg.ids):
        out[j] = x[s]
    for j, s in enumerate(seg.ids):
        gx[s] += g[j]
    return out, gx


def compare_segment_ops(members: int, segments: int, width: int, repeat: int, rng) -> None:
    ids = np.sort(rng.integers(0, segments, size=members))
    ids[:segments] = np.arange(segments)  # no empty segment (max, mean, softmax need members)
    ids.sort()
    start = time.perf_counter()
    seg = Segments(ids, segments)
    _ = seg.matrix
    built = time.perf_counter() - start
    x = rng.normal(size=(members, width, 1))
    reduced_seed = rng.normal(size=(segments, width, 1))
    member_seed = rng.normal(size=(members, width, 1))
    source = rng.normal(size=(segments, width, 1))
    print(f"\nsegment ops, forward+backward: {members} members, {segments} segments, values ({width}, 1); "
          f"Segments built once in {built * 1e3:.1f} ms")
    print(f"{'op':<16}{'batched ms':>12}{'loop ms':>12}{'loop/batched':>14}")
    cases = [
        ("segment_sum", ops.segment_sum, loop_sum, x, reduced_seed),
        ("segment_mean", ops.segment_mean, loop_mean, x, reduced_seed),
        ("segment_max", ops.segment_max, loop_max, x, reduced_seed),
        ("segment_softmax", ops.segment_softmax, loop_softmax, x, member_seed),
        ("gather", ops.gather, loop_gather, source, member_seed),
    ]
    for name, op, loop, data, seed in cases:
        batched = best_time(tape_forward_backward(op, data, seg, seed), repeat)
        looped = best_time(lambda: loop(data, seg, seed), 1)
        _check_same(op, loop, data, seg, seed)
        print(f"{name:<16}{batched * 1e3:>12.2f}{looped * 1e3:>12.1f}{looped / batched:>13.0f}x")


def _check_same(op, loop, data, seg, seed) -> None:
    v = variable(data)
    y = op(v, seg)
    (g,) = backward(y, [v], seed=seed)
    ref_y, ref_g = loop(data, seg, seed)
    assert np.allclose(y.value, ref_y) and np.allclose(g, ref_g), "batched and loop results differ"


def compare_sum_kernels(members: int, segments: int, width: int, repeat: int, rng) -> None:
    ids = np.sort(rng.integers(0, segments, size=members))
    seg = Segments(ids, segments)
    _ = seg.matrix
    x = rng.normal(size=(members, width, 1))
    flat = x.reshape(members, width)
    starts = seg.starts[seg.counts > 0]

    def add_at():
        out = np.zeros((segments, width))
        np.add.at(out, ids, flat)
        return out

    alternatives = {
        "np.add.at": add_at,
        "bincount per column": lambda: np.stack(
            [np.bincount(ids, weights=flat[:, c], minlength=segments) for c in range(width)], axis=1),
        "reduceat (sorted)": lambda: np.add.reduceat(flat, starts, axis=0),
        "scipy CSR @ x": lambda: seg.matrix @ flat,
    }
    ours = best_time(lambda: seg.sum(x), repeat)
    print(f"\nsegment-sum kernels, {members} members into {segments} segments, width {width}: "
          f"Segments.sum {ours * 1e3:.2f} ms")
    for name, fun in alternatives.items():
        t = best_time(fun, repeat)
        print(f"  {name:<22}{t * 1e3:>9.2f} ms   {t / ours:>6.2f}x ours")


def compare_matmul(n: int, rows: int, cols: int, repeat: int, rng) -> None:
    w, x, g = rng.normal(size=(rows, cols)), rng.normal(size=(n, cols, 1)), rng.normal(size=(n, rows, 1))

    def ours():
        v = variable(w)
        return backward(ops.matmul(v, x), [v], seed=g)

    def broadcast_matmul():
        y = np.matmul(w, x)
        return y, np.matmul(g, np.swapaxes(x, 1, 2)).sum(axis=0)

    def per_item():
        return [w @ item for item in x], sum(gi @ xi.T for gi, xi in zip(g, x))

    mine = best_time(ours, repeat)
    print(f"\nshared-weight matmul forward+backward, W ({rows},{cols}) x {n} columns: ours {mine * 1e3:.2f} ms")
    for name, fun, reps in (("np.matmul broadcast + sum", broadcast_matmul, repeat), ("per-item loop", per_item, 1)):
        t = best_time(fun, reps)
        print(f"  {name:<28}{t * 1e3:>9.2f} ms   {t / mine:>6.1f}x ours")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--segments", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    for width in (1, 16):
        compare_segment_ops(args.members, args.segments, width, args.repeat, rng)
    for width in (1, 16, 64):
        compare_sum_kernels(args.members, args.segments, width, args.repeat, rng)
    for rows, cols in ((3, 3), (16, 16)):
        compare_matmul(args.members, rows, cols, args.repeat, rng)


if __name__ == "__main__":
    main()
