"""Chunked grounding: peak memory and build time against grounding the whole set at once.

Data: generated molecules of NCI-like size (15 to 45 atoms of the six types ``templates/gnn.rules``
knows, a random spanning tree plus up to four ring bonds; bonds single, double or aromatic), one
``1.0/0.0 predict.`` query line per molecule, written to a temporary folder. Template:
``templates/gnn.rules`` (embeddings, two message-passing layers, averaged readout).

Each build runs in a fresh child process, which reports its peak resident memory
(``ru_maxrss``) and that after imports (the interpreter, numpy and the package), and the
neurons its lifted network keeps:

- ``whole``: the files parsed, then grounded, neuralized and lifted at once (``neural.build``),
  the baseline;
- ``chunked``: the files read, grounded and lifted in chunks of ``--chunk`` molecules
  (``read_chunks`` + ``build_chunked``), keeping only the lifted network.

For 1x, 2x and 4x ``--molecules`` molecules it prints both figures, the chunked one as a ratio
to the whole-set baseline at the same size (memory above the imports, and build time), each
method's growth against its own 1x run, and the size of the lifted network's arrays. Two sets:
all molecules distinct (the lifted network grows with them: random graphs share little beyond
their embeddings, so chunked memory follows the lifted network) and molecules drawn from a pool
of ``--pool`` distinct ones (the lifted network stops growing, so chunked memory stays flat but
for one record per sample). Like is compared with like: the same files, template and lifting
(structural, across examples); the lifted networks are checked to have the same neurons and
edges.

Usage: ``python benchmarks/chunked.py [--molecules 5000] [--chunk 1000] [--pool 500]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ATOMS = ("c", "h", "o", "n", "cl", "s")
ATOM_P = (0.5, 0.2, 0.14, 0.1, 0.03, 0.03)
BONDS = ("b_1", "b_2", "b_ar")
BOND_P = (0.6, 0.15, 0.25)

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from neuralogic_py.language.chunks import read_chunks
from neuralogic_py.language.data import load_examples, load_queries
from neuralogic_py.language.parser import load_template
from neuralogic_py.language.sources import Split
from neuralogic_py.neural import build
from neuralogic_py.neural.chunked import build_chunked
method, folder, chunk = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
template = load_template(sys.argv[4])
imported = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
split = Split(folder / "examples.txt", folder / "queries.txt")
if method == "whole":
    compiled = build(template, load_examples(split.examples), load_queries(split.queries))
else:
    compiled = build_chunked(template, read_chunks(split, chunk))
seconds = time.perf_counter() - started
final = compiled.compression.final
net = compiled.network
arrays = [net.kind, net.const, net.param, net.in_atom, net.in_layer, net.in_group, net.outputs, net.level, net.shape,
          net.weighted, net.activation, net.combination, net.offset, net.program.atoms.pred, net.program.atoms.ex,
          net.program.atoms.terms]
arrays += [getattr(layer, f) for layer in net.layers for f in ("body", "member", "member_group", "head", "rule_level",
                                                              "rule_shape", "agg_level", "agg_shape", "agg_count",
                                                              "contrib_shape") if getattr(layer, f) is not None]
print(json.dumps({"lifted_mb": sum(a.nbytes for a in arrays) / 2 ** 20,
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "imported_kb": imported,
                  "seconds": seconds, "neurons": final.neurons, "edges": final.edges,
                  "samples": len(compiled.samples)}))
"""


def molecule(rng: np.random.Generator) -> str:
    n = int(rng.integers(15, 46))
    atoms = rng.choice(ATOMS, size=n, p=ATOM_P)
    edges = {(int(rng.integers(0, i)), i) for i in range(1, n)}
    for _ in range(int(rng.integers(0, 5))):
        a, b = sorted(rng.choice(n, size=2, replace=False).tolist())
        edges.add((a, b))
    facts = [f"{atoms[i]}(a{i + 1})" for i in range(n)]
    for k, (a, b) in enumerate(sorted(edges), start=1):
        facts += [f"bond(a{a + 1}, a{b + 1}, b{k})", f"bond(a{b + 1}, a{a + 1}, b{k})",
                  f"{rng.choice(BONDS, p=BOND_P)}(b{k})"]
    return ", ".join(facts) + ".\n"


def write_set(folder: Path, count: int, pool: int | None = None, seed: int = 0) -> None:
    """``count`` molecules, all distinct or drawn from ``pool`` distinct ones."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    kinds = [molecule(rng) for _ in range(pool)] if pool else None
    with open(folder / "examples.txt", "w") as examples, open(folder / "queries.txt", "w") as queries:
        for _ in range(count):
            examples.write(kinds[int(rng.integers(pool))] if kinds else molecule(rng))
            queries.write(f"{float(rng.integers(0, 2))} predict.\n")


def measure(method: str, folder: Path, chunk: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, method, str(folder), str(chunk),
                          str(ROOT / "templates" / "gnn.rules")], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--molecules", type=int, default=5000, help="molecules at 1x (default 5000)")
    parser.add_argument("--chunk", type=int, default=1000, help="molecules per chunk (default 1000)")
    parser.add_argument("--pool", type=int, default=500,
                        help="distinct molecules of the second set, which repeats them (default 500)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; templates/gnn.rules on generated NCI-like molecules; chunks of "
          f"{args.chunk}; peak RSS of a fresh process in MB above its imports; lifted MB: the lifted network's arrays")
    with tempfile.TemporaryDirectory() as tmp:
        sets = (("all molecules distinct", None), (f"drawn from {args.pool} distinct molecules", args.pool))
        for title, pool in sets:
            print(f"\n{title}:")
            print(f"{'molecules':>10} {'method':>8} {'peak MB':>8} {'vs whole':>9} {'vs 1x':>6} {'lifted MB':>9} "
                  f"{'build s':>8} {'vs whole':>9} {'neurons':>9}")
            base: dict[str, float] = {}
            for factor in (1, 2, 4):
                count = factor * args.molecules
                folder = Path(tmp) / f"{pool}-{count}"
                write_set(folder, count, pool)
                results = {method: measure(method, folder, args.chunk) for method in ("whole", "chunked")}
                whole = results["whole"]
                assert all((whole["neurons"], whole["edges"]) == (r["neurons"], r["edges"]) for r in results.values())
                for method, r in results.items():
                    above = (r["peak_kb"] - r["imported_kb"]) / 1024
                    base.setdefault(method, above)
                    vs_whole = above / ((whole["peak_kb"] - whole["imported_kb"]) / 1024)
                    print(f"{count:>10,} {method:>8} {above:>8.0f} {vs_whole:>8.2f}x {above / base[method]:>5.2f}x "
                          f"{r['lifted_mb']:>9.1f} {r['seconds']:>8.1f} {r['seconds'] / whole['seconds']:>8.2f}x "
                          f"{r['neurons']:>9,}")


if __name__ == "__main__":
    main()
