"""Lifting on the lifting paper's data: neurons and edges per stage, lifting time, epoch time lifted vs unlifted.

Datasets (from ``../shared/datasets``) and templates (``paper_templates.py``):

- ``nci``, ``a498``: NCI GI50 786_0 and A498, 3504 and 3478 molecules, one sample per molecule, the paper's
  molecule GNN as a new user writes it (``molecule_gnn_plain``: no metadata, so the CLI's default functions,
  our ``reference`` profile);
- ``kinships``: one knowledge base, 20,929 queries, the paper's knowledge-base embedding template (every weight
  and function named);
- ``nations``: one knowledge base, 5,347 queries (triples and attributes), the same template plus the
  attribute score of the paper's nations template.

For each: the neurons (facts, atoms, rules, aggregations) and edges the queries reach in the ground network,
after exact chain pruning, after structural lifting within each example and across all examples (the
reference lifts sample by sample, so "within" is its scope), and after the paper's value-based lifting
(within examples, 14 digits, with and without the structural check, and the merges the check vetoed), with
the time each stage took and, per lifting stage, what it merged (within one layer, across layers, by normal
form). Where Java and the reference engine's jar are installed (``reference_engine.cli_compression``), the
Java CLI's counts for the same files beside ours: its value lifting at 14 digits without chain pruning
(``-iso 14 -prune 0``: the neurons it keeps that compute distinct functions, the count ours is held to) and
its defaults (``-iso 12 -prune 1``, whose pruning drops activations).

Then the time per training epoch (Adam, MSE, fixed batches in a new order every epoch) of the unlifted and
the lifted (structural, across examples) network, measured in the same run from the same initial weights,
and their ratio; the final training errors of both are printed too (lifting is exact, so they agree). Epoch
times are medians over the epochs after the first (which compiles the batch plans).

The paper, for scale (per cross-validation chunk, its own engine, online training): the molecule GNN kept
10.7% of its neurons (9.3x) and trained about 3x faster per epoch; kinships kept 26%, nations 45%.

Usage: ``python benchmarks/lifting.py [--only nci a498 kinships nations] [--epochs N] [--no-reference]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: tall thin products run slower threaded

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paper_templates
import reference_engine

from neuralogic_py.language.data import load_examples, load_queries
from neuralogic_py.language.parser import parse_template
from neuralogic_py.learn.losses import make_loss
from neuralogic_py.learn.optimizers import make_optimizer
from neuralogic_py.learn.trainer import Scorer, TrainingConfig, train
from neuralogic_py.logic.samples import ground_samples
from neuralogic_py.neural import (
    LiftingSettings,
    ParameterStore,
    compile_network,
    compress,
)
from neuralogic_py.neural.compression import Stage, report_lines
from neuralogic_py.neural.network import neuralize

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()
NAMES = ("nci", "a498", "kinships", "nations")
PAPER = {"nci": "10.7% of neurons (9.3x), ~3x faster epochs", "a498": "10.6% of neurons", "kinships": "26% of neurons",
         "nations": "45% of neurons"}
BATCHES = {"nci": (1, 32, 256, 0), "a498": (), "kinships": (32, 1024, 0), "nations": (1, 32, 0)}  # 0: full batch


def cases(folder: Path) -> dict[str, tuple[Path, Path, Path]]:
    """name -> (template, examples, queries); generated templates are written into ``folder``."""
    data = SHARED / "datasets"
    roots = {"nci": data / "nci_gi50" / "786_0", "a498": data / "nci_gi50" / "A498",
             "kinships": data / "kbs" / "kinships", "nations": data / "kbs" / "nations"}
    kinships, nations = roots["kinships"], roots["nations"]
    texts = {
        **{name: paper_templates.molecule_gnn_plain(*paper_templates.molecule_types(roots[name] / "examples.txt"))
           for name in ("nci", "a498")},
        "kinships": paper_templates.kb_embedding(
            *paper_templates.kb_vocabulary(kinships / "examples.txt", "person", "rel"), "r(R,X,Y)"),
        "nations": paper_templates.kb_embedding(
            *paper_templates.kb_vocabulary(nations / "examples.txt", "nation", "rel"), "r(X,R,Y)",
            attributes=paper_templates.kb_vocabulary(nations / "examples.txt", "att", "rel")[0]),
    }
    out = {}
    for name, root in roots.items():
        template = folder / f"{name}_template.txt"
        template.write_text(texts[name])
        out[name] = (template, root / "examples.txt", root / "queries.txt")
    return out


def neural_network(template_path: Path, examples: Path, queries: Path, every: int = 1):
    """Ground and neuralize (no lifting yet) on every ``every``-th query line; the template, network and seconds."""
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nations uses predict/2 and predict/3 on purpose
        template = parse_template(template_path.read_text(), str(template_path))
    grounding = ground_samples(template, load_examples(examples), load_queries(queries)[::every])
    network = neuralize(template, grounding, ParameterStore.from_template(template))
    return template, network, time.perf_counter() - started


def stages(network) -> tuple[list[Stage], list[Stage]]:
    """Our stages: ground, pruning, structural within and across; and the value method within examples."""
    structural = [compress(network, LiftingSettings(scope=scope))[1] for scope in ("example", "batch")]
    value = [compress(network, LiftingSettings("value", scope="example", iso_digits=14, iso_check=check))[1]
             for check in (False, True)]
    return structural[0].stages + structural[1].stages[-1:], [r.stages[-1] for r in value]


def epoch_times(template, network, lifting: str, batch_sizes, epochs: int) -> dict[int, tuple[float, float]]:
    """Per batch size: (median epoch seconds, final training error), from the same initial weights."""
    lifted, _ = compress(network, lifting)
    compiled = compile_network(lifted)
    scorer = Scorer(compiled, make_loss("mse"), compiled.targets(), True)
    samples = np.arange(len(compiled.samples))
    out = {}
    for batch_size in batch_sizes:
        store = ParameterStore.from_template(template)  # seed 0: the same weights for every run
        compiled.network.store.values.update({n: v for n, v in store.values.items()
                                              if n in compiled.network.store.values})
        n = max(2, epochs // 3) if batch_size == 1 else epochs
        config = TrainingConfig(epochs=n, batch_size=batch_size, eval_every=n, restore_best=False)
        stamps = [time.perf_counter()]
        history = train(scorer, compiled.network.store.learnable(), make_optimizer("adam", 0.01), samples, config,
                        np.random.default_rng(0),
                        on_epoch=lambda done, h, record=stamps.append: record(time.perf_counter()))
        out[batch_size] = (statistics.median(np.diff(stamps)[1:]), history.train_error[-1])
    return out


def reference_counts(template: Path, examples: Path, queries: Path) -> tuple[int | None, str]:
    """The Java CLI's neurons after its value lifting without pruning (None if it failed), and a line on both runs."""
    parts, exact = [], None
    for digits, pruning in ((14, False), (12, True)):
        try:
            figures = reference_engine.cli_compression(template, examples, queries, iso_digits=digits,
                                                       chain_pruning=pruning, timeout=1800)
        except reference_engine.ReferenceEngineError as error:
            return None, f"reference CLI failed: {error}"
        label = "-iso 14 -prune 0" if not pruning else "defaults -iso 12 -prune 1"
        parts.append(f"{label}: {figures['neurons']:,} -> {figures['lifted']:,} neurons "
                     f"({figures['seconds']:.0f} s run)")
        exact = figures["lifted"] if not pruning else exact
    return exact, "reference CLI (summed over its samples): " + "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=NAMES, help="datasets (default: all)")
    parser.add_argument("--epochs", type=int, default=6, help="epochs per batch size (batch 1: a third; default 6)")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="do not run the reference engine")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"shared material not found: {SHARED}")
        return 2
    reference = args.reference and shutil.which("java") is not None and reference_engine.available()
    if args.reference and not reference:
        print(f"reference engine unavailable: {reference_engine.unavailable_reason() or 'no java on the PATH'}")
    with tempfile.TemporaryDirectory(prefix="lifting_") as folder:
        for name, (template_path, examples, queries) in cases(Path(folder)).items():
            if args.only and name not in args.only:
                continue
            template, network, seconds = neural_network(template_path, examples, queries)
            print(f"\n== {name}: {len(network.samples)} samples, ground and neuralized in {seconds:.1f} s "
                  f"(paper: {PAPER[name]})")
            ours, value = stages(network)
            print("\n".join(report_lines(len(network.samples), ours + value, kinds=True)))
            print(f"lifting time, within and across examples: {ours[2].seconds + ours[3].seconds:.2f} s")
            if reference:
                exact, line = reference_counts(template_path, examples, queries)
                print(line)
                if exact is not None:
                    mine = ours[2].counts.neurons
                    print(f"ours within examples {mine:,} {'<=' if mine <= exact else '>'} the reference's {exact:,} "
                          f"(value lifting, 14 digits, no pruning)")
            if name in ("kinships", "nations"):  # the paper counts a cross-validation chunk: a fifth of the queries
                _, chunk, _ = neural_network(template_path, examples, queries, every=5)
                report = compress(chunk, "structural")[1]
                print("one fifth of the queries (as the paper's chunks): "
                      + "; ".join(f"{s.name} {s.counts.neurons:,}" for s in report.stages)
                      + f" = {100 * report.final.neurons / report.ground.neurons:.1f}%")
            if not BATCHES[name]:
                continue
            print("epoch time, unlifted -> lifted (structural, across examples):")
            plain = epoch_times(template, network, "none", BATCHES[name], args.epochs)
            lifted = epoch_times(template, network, "structural", BATCHES[name], args.epochs)
            for batch_size in BATCHES[name]:
                (a, error_a), (b, error_b) = plain[batch_size], lifted[batch_size]
                label = "full batch" if batch_size == 0 else f"batch {batch_size}"
                print(f"  {label:>11}: {1000 * a:9.1f} ms -> {1000 * b:8.1f} ms  ({a / b:5.1f}x faster); final "
                      f"train error {error_a:.12f} / {error_b:.12f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
