"""The lifting paper's headline table (ICLR 2021, "lossless" runs), reproduced on the data we share.

Rows (``../shared/datasets``; templates from ``paper_templates.py``):

- ``gnn-786_0``, ``gnn-a498``, ``gnn-mda``: the paper's molecule GNN as a new user writes it
  (``molecule_gnn_plain``, the template of issue 9: no metadata, so the Java CLI's default functions, our
  ``reference`` profile) on NCI GI50 786_0, A498 and MDA_MB_231_ATCC, one sample per molecule;
- ``lrnn-786_0``, ``lrnn-a498``, ``lrnn-mda``: the paper's vector LRNN template. The paper writes its rule
  ``{1,243} predict :- atom_embed(A), bond(A,B,X), bond_embed(X), atom_embed(B), bond(B,C,Y), bond_embed(Y),
  atom_embed(C), <-7>. [activation=crossproduct-sigmoid]``; our language has no ``crossproduct-sigmoid`` name
  and no bare ``<-7>`` body offset, but it spells the same function as the ``crosssum`` combination (every
  3^5 = 243 combination of the embeddings' entries, summed) with the constant as a fixed-weight body literal
  ``<-7.0> one`` on a template fact ``one.`` (scalar, so it is added to every combination) and a sigmoid
  activation (``lrnn_template`` below). The fused engine has no crosssum, so these rows train on the numpy
  engine (``engine="auto"``), and the reference is not run on them (its CLI would need its own spelling);
- ``kbe-kinships``, ``kbe-nations``: the paper's knowledge-base embedding template (``kb_embedding``; nations
  with its attribute score), one knowledge base each, one sample per query.

Columns, measured in one run:

- neurons the outputs reach (our compression report, ``compiled.compression``): the ground network, after
  exact chain pruning, after structural lifting within each example (the paper's and the reference's scope)
  and across all examples (``Model(lifting="structural")``, our default);
- the Java CLI on the same files (``reference_engine.cli_compression``, summed over its samples): its value
  lifting at 14 digits without chain pruning (``-iso 14 -prune 0``: ground -> lifted, the paper's "orig" and
  "lifted (no prune)") and with its chain pruning (``-iso 14 -prune 1``: pruned -> lifted, the paper's "after
  prune" and "lifted (+prune)"; its pruning drops activations, so that network computes another function);
- time per training epoch, unlifted (``lifting="none"``) vs lifted (``"structural"``), at batch 1 (online, as
  the paper trains) and batch 32 (fused engine where it applies; Adam, MSE, fixed batches in a new order each
  epoch, no evaluation inside the timed epochs): the median of ``--time-epochs`` epochs after the first (which
  compiles the batch plans), both from the same initial weights;
- test accuracy over ``--folds`` stratified folds x ``--epochs`` epochs, unlifted and lifted, at our
  ``nlp train`` defaults (``learn/defaults.py``: molecule sets batch 32, Adam 0.03, MSE; knowledge bases full
  batch, Adam 0.1, loss ``auto``), same seed, so the same folds, batches and initial weights: lifting is
  exact, so outputs and gradients agree up to floating-point summation order, but Adam at lr 0.03 can
  amplify that round-off over thousands of steps, so long runs may end in different weights (the log lines
  above the tables print both runs' final training errors after the timed epochs);
- the paper's published figures (``../shared/reference/paper.md`` §4.4: per cross-validation chunk, i.e. a
  fifth of the samples; 1000 epochs, online training in the Java engine, single CPU; "train s" per fold).

The reference runs in a background thread while our cross-validation trains (after all epoch timings are
taken, so those are not disturbed by it); nothing is written into the repository (a temporary directory holds
the generated templates and subsets).

Usage: ``python benchmarks/paper_table.py [--quick] [--only ROW ...] [--molecules N] [--epochs N] [--folds K]
[--time-epochs T] [--lrnn-molecules M] [--lrnn-epochs N] [--no-reference]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: tall thin products run slower threaded

import argparse
import concurrent.futures
import gc
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paper_templates  # noqa: E402
import reference_engine  # noqa: E402

from neuralogic_py.learn.dataset import Dataset  # noqa: E402
from neuralogic_py.learn.defaults import defaults_for  # noqa: E402
from neuralogic_py.learn.model import Model  # noqa: E402
from neuralogic_py.neural import LiftingSettings  # noqa: E402

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()
DATA = SHARED / "datasets"
SCREENS = {"786_0": "786_0", "a498": "A498", "mda": "MDA_MB_231_ATCC"}
ROWS = ("gnn-786_0", "gnn-a498", "gnn-mda", "lrnn-786_0", "lrnn-a498", "lrnn-mda", "kbe-kinships", "kbe-nations")

# paper.md §4.4, per cross-validation chunk: orig, after prune, lifted (+prune), lifted (no prune), train s base,
# train s lift+prune, speedup, test acc base, test acc lift+prune
PAPER = {
    "gnn-786_0": (271_183, 184_727, 29_159, 36_034, 737, 233, 3.16, .652, .652),
    "gnn-a498": (271_579, 184_979, 29_105, 35_970, 745, 235, 3.17, .659, .663),
    "gnn-mda": (229_493, 156_329, 24_645, 30_465, 586, 201, 2.92, .677, .681),
    "lrnn-786_0": (254_654, 187_836, 29_042, 29_743, 22_307, 5_707, 3.91, .671, .662),
    "lrnn-a498": (255_109, 188_194, 29_043, 29_739, 22_339, 5_716, 3.91, .655, .671),
    "lrnn-mda": (215_495, 158_948, 24_609, 25_198, 18_644, 4_766, 3.91, .688, .684),
    "kbe-kinships": (45_547, 40_896, 11_945, 12_154, 16_386, 9_209, 1.78, .680, .716),
    "kbe-nations": (6_876, 5_467, 3_101, 3_130, 1_355, 1_229, 1.10, .758, .758),
}


def lrnn_template(atom_types: list[str], bond_types: list[str], dim: int = 3) -> str:
    """The paper's vector LRNN template in our language (see the module docstring)."""
    lines = [f"{{{dim},1}} atom_embed(A) :- {t}(A)." for t in atom_types]
    lines += [f"{{{dim},1}} bond_embed(B) :- {t}(B)." for t in bond_types]
    lines += [
        f"atom_embed/1 {{{dim},1}}",
        f"bond_embed/1 {{{dim},1}}",
        "one.",
        f"{{1,{dim ** 5}}} predict :- <-7.0> one, atom_embed(A), bond(A,B,X), bond_embed(X), atom_embed(B), "
        "bond(B,C,Y), bond_embed(Y), atom_embed(C). [combination=crosssum, activation=sigmoid]",
        "predict/0 {1}",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Case:
    row: str
    template: Path
    examples: Path
    queries: Path
    samples: int
    note: str
    engine: str = "fused"
    train_queries: Path | None = None  # a subset for the training columns (LRNN), else the queries
    train_examples: Path | None = None
    train_samples: int = 0
    chunk_queries: Path | None = None  # knowledge bases: a fifth of the queries, as a paper chunk


@dataclass
class Result:
    case: Case
    ours: dict[str, int] = field(default_factory=dict)  # ground, pruned, within, across
    chunk: dict[str, int] = field(default_factory=dict)
    times: dict[tuple[str, int], float] = field(default_factory=dict)  # (lifting, batch) -> median epoch s
    errors: dict[tuple[str, int], float] = field(default_factory=dict)  # final training error of the timed run
    accuracy: dict[str, tuple[float, float]] = field(default_factory=dict)  # lifting -> (mean, std) test acc
    xval_seconds: dict[str, float] = field(default_factory=dict)
    reference: dict[bool, dict | str] = field(default_factory=dict)  # chain pruning -> figures or error


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _subset(examples: Path, queries: Path, n: int | None, folder: Path, tag: str, seed: int = 0
            ) -> tuple[Path, Path, int, str]:
    """A seeded subset of ``n`` molecules (examples and queries paired by line), or all of them."""
    ex, qs = _lines(examples), _lines(queries)
    if not n or n >= len(ex):
        return examples, queries, len(ex), f"all {len(ex)} molecules"
    pick = sorted(random.Random(seed).sample(range(len(ex)), n))
    out_e, out_q = folder / f"{tag}_examples.txt", folder / f"{tag}_queries.txt"
    out_e.write_text("\n".join(ex[i] for i in pick) + "\n")
    out_q.write_text("\n".join(qs[i] for i in pick) + "\n")
    return out_e, out_q, n, f"seeded subset of {n} of {len(ex)} molecules"


def make_case(row: str, folder: Path, args: argparse.Namespace) -> Case | None:
    kind, name = row.split("-", 1)
    if kind in ("gnn", "lrnn"):
        root = DATA / "nci_gi50" / SCREENS[name]
        if not root.is_dir():
            return None
        examples, queries, n, note = _subset(root / "examples.txt", root / "queries.txt", args.molecules, folder,
                                             name)
        types = paper_templates.molecule_types(examples)
        template = folder / f"{row}_template.txt"
        if kind == "gnn":
            template.write_text(paper_templates.molecule_gnn_plain(*types))
            return Case(row, template, examples, queries, n, note)
        template.write_text(lrnn_template(*types))
        t_examples, t_queries, t_n, t_note = _subset(examples, queries, args.lrnn_molecules, folder, row + "_train")
        return Case(row, template, examples, queries, n, note, engine="auto", train_examples=t_examples,
                    train_queries=t_queries, train_samples=t_n)
    root = DATA / "kbs" / name
    if not root.is_dir():
        return None
    examples = root / "examples.txt"
    if name == "kinships":
        text = paper_templates.kb_embedding(*paper_templates.kb_vocabulary(examples, "person", "rel"), "r(R,X,Y)")
    else:
        text = paper_templates.kb_embedding(*paper_templates.kb_vocabulary(examples, "nation", "rel"), "r(X,R,Y)",
                                            attributes=paper_templates.kb_vocabulary(examples, "att", "rel")[0])
    template = folder / f"{row}_template.txt"
    template.write_text(text)
    queries = root / "queries.txt"
    lines = _lines(queries)
    if args.kb_every > 1:
        lines = lines[::args.kb_every]
        queries = folder / f"{row}_queries.txt"
        queries.write_text("\n".join(lines) + "\n")
    chunk = folder / f"{row}_chunk_queries.txt"
    chunk.write_text("\n".join(lines[::5]) + "\n")
    note = f"{len(lines):,} queries, one KB" + (f" (every {args.kb_every}th)" if args.kb_every > 1 else "")
    return Case(row, template, examples, queries, len(lines), note, chunk_queries=chunk)


def _model(case: Case, lifting, loss: str) -> Model:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nations uses predict/2 and predict/3 on purpose
        return Model(case.template, engine=case.engine, lifting=lifting, seed=0, loss=loss)


def counts(case: Case, queries: Path | None = None) -> dict[str, int]:
    """Our compression report's stages: ground, chain pruning, lifted within and across examples."""
    data = Dataset.load(case.examples, queries or case.queries)
    out = {}
    for key, lifting in (("within", LiftingSettings(scope="example")), ("across", LiftingSettings(scope="batch"))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, compiled = _model(case, lifting, "mse").build(data)
        stages = compiled.compression.stages
        out.update(ground=stages[0].counts.neurons, pruned=stages[1].counts.neurons)
        out[key] = stages[-1].counts.neurons
        del compiled
        gc.collect()
    return out


def epoch_times(case: Case, result: Result, timed: int) -> None:
    """Median epoch seconds at batch 1 and 32, unlifted and lifted, from the same initial weights."""
    data = Dataset.load(case.train_examples or case.examples, case.train_queries or case.queries)
    for lifting in ("none", "structural"):
        model = _model(case, lifting, "mse")
        initial = model.parameters()
        for batch in (1, 32):
            model.load_parameters(initial)
            stamps = [time.perf_counter()]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = model.fit(data, epochs=timed + 1, batch_size=batch, lr=0.03, optimizer="adam",
                                eval_every=timed + 1, restore_best=False,
                                on_epoch=lambda done, history, record=stamps.append: record(time.perf_counter()))
            result.times[lifting, batch] = statistics.median(np.diff(stamps)[1:])
            result.errors[lifting, batch] = fit.history.train_error[-1]
        del model
        gc.collect()


def accuracy(case: Case, result: Result, epochs: int, folds: int) -> None:
    data = Dataset.load(case.train_examples or case.examples, case.train_queries or case.queries)
    defaults = defaults_for(data)
    for lifting in ("none", "structural"):
        model = _model(case, lifting, defaults.loss)
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xval = model.cross_validate(data, folds, epochs=epochs, batch_size=defaults.batch_size, lr=defaults.lr,
                                        optimizer="adam")
        result.xval_seconds[lifting] = time.perf_counter() - started
        result.accuracy[lifting] = xval.summary("accuracy")["test"]
        del model
        gc.collect()


def reference_runs(case: Case, timeout: float) -> dict[bool, dict | str]:
    out: dict[bool, dict | str] = {}
    for pruning in (False, True):
        try:
            out[pruning] = reference_engine.cli_compression(case.template, case.examples, case.queries,
                                                            iso_digits=14, chain_pruning=pruning, timeout=timeout)
        except reference_engine.ReferenceEngineError as error:
            out[pruning] = str(error)
    return out


# -- printing


def _n(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%"


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{1000 * seconds:.0f}" if seconds >= 0.1 else f"{1000 * seconds:.1f}"


def _label(row: str) -> str:
    kind, name = row.split("-", 1)
    return f"{kind.upper()} {SCREENS.get(name, name)}"


def neuron_table(results: list[Result], reference: bool) -> list[str]:
    head = ["model / data", "samples", "ground", "after chain pruning (exact)", "lifted within examples",
            "lifted across examples"]
    if reference:
        head += ["reference `-iso 14 -prune 0`: ground -> lifted", "reference `-iso 14 -prune 1`: pruned -> lifted"]
    head += ["paper (per chunk): orig / after prune / lifted+prune / lifted no prune (lifted+prune / orig)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]

    def row_of(label: str, samples: str, ours: dict[str, int], ref: dict | None, paper) -> str:
        g = ours["ground"]
        cells = [label, samples, _n(g), f"{_n(ours['pruned'])} ({_pct(ours['pruned'], g)})",
                 f"{_n(ours['within'])} ({_pct(ours['within'], g)})",
                 f"{_n(ours['across'])} ({_pct(ours['across'], g)})"]
        if reference:
            for pruning in (False, True):
                figures = (ref or {}).get(pruning)
                if isinstance(figures, dict):
                    cells.append(f"{_n(figures['neurons'])} -> {_n(figures['lifted'])} "
                                 f"({_pct(figures['lifted'], g)})")
                else:
                    cells.append("not run" if figures is None else f"failed: {figures}")
        if paper:
            o, p, lp, ln = paper[:4]
            cells.append(f"{o:,} / {p:,} ({_pct(p, o)}) / {lp:,} ({_pct(lp, o)}) / {ln:,} ({_pct(ln, o)})")
        else:
            cells.append("")
        return "| " + " | ".join(cells) + " |"

    for r in results:
        c = r.case
        lines.append(row_of(_label(c.row), c.note, r.ours, r.reference, PAPER[c.row]))
        if r.chunk:
            lines.append(row_of(f"{_label(c.row)}, a fifth of the queries (as a paper chunk)", "", r.chunk, None,
                                None))
    return lines


def time_table(results: list[Result]) -> list[str]:
    head = ["model / data", "trained on", "engine", "epoch ms, batch 1: unlifted -> lifted (speedup)",
            "epoch ms, batch 32: unlifted -> lifted (speedup)", "test accuracy unlifted -> lifted (std)",
            "paper: train s per fold, base -> lift+prune (speedup)", "paper: test acc base -> lift+prune"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in results:
        c = r.case
        cells = [_label(c.row), c.note if c.train_queries is None else
                 f"seeded subset of {c.train_samples} molecules", "fused" if c.engine == "fused" else "numpy"]
        for batch in (1, 32):
            a, b = r.times.get(("none", batch)), r.times.get(("structural", batch))
            cells.append(f"{_ms(a)} -> {_ms(b)} ({a / b:.1f}x)" if a and b else "")
        if r.accuracy:
            (a, sa), (b, sb) = r.accuracy["none"], r.accuracy["structural"]
            cells.append(f"{a:.3f} ({sa:.3f}) -> {b:.3f} ({sb:.3f})")
        else:
            cells.append("not run")
        p = PAPER[c.row]
        cells += [f"{p[4]:,} -> {p[5]:,} ({p[6]:.2f}x)", f"{p[7]:.3f} -> {p[8]:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=ROWS, help="rows (default: all)")
    parser.add_argument("--molecules", type=int, default=None, help="seeded subset of each NCI screen (default all)")
    parser.add_argument("--epochs", type=int, default=100, help="cross-validation epochs (default 100)")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    parser.add_argument("--time-epochs", type=int, default=9,
                        help="timed epochs after the first, per batch size and lifting (default 9)")
    parser.add_argument("--lrnn-molecules", type=int, default=300,
                        help="LRNN rows: seeded subset the training columns use (numpy engine; default 300)")
    parser.add_argument("--lrnn-epochs", type=int, default=20, help="LRNN rows: cross-validation epochs (default 20)")
    parser.add_argument("--lrnn-train", nargs="*", default=[r for r in ROWS if r.startswith("lrnn")],
                        help="LRNN rows whose training columns run (default all; the others: neurons only)")
    parser.add_argument("--kb-every", type=int, default=1, help="knowledge bases: every k-th query only (default 1)")
    parser.add_argument("--no-reference", dest="reference", action="store_false", help="do not run the Java CLI")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 120 molecules, every 10th KB query, 2 folds x 3 epochs, 1 timed epoch")
    args = parser.parse_args()
    if args.quick:
        args.molecules, args.kb_every, args.folds, args.epochs = 120, 10, 2, 3
        args.time_epochs, args.lrnn_molecules, args.lrnn_epochs = 1, 40, 2
    if not DATA.is_dir():
        print(f"shared datasets not found: {DATA}")
        return 2
    reference = args.reference and shutil.which("java") is not None and reference_engine.available()
    why_no_reference = None
    if not reference:
        why_no_reference = ("--no-reference" if not args.reference else
                            reference_engine.unavailable_reason() or "no java on the PATH")
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    rows = [row for row in ROWS if not args.only or row in args.only]
    with tempfile.TemporaryDirectory(prefix="paper_table_") as tmp:
        folder = Path(tmp)
        cases = [case for case in (make_case(row, folder, args) for row in rows) if case is not None]
        results = [Result(case) for case in cases]
        # 1. neurons and epoch times, nothing else of ours running
        for result in results:
            case = result.case
            t0 = time.perf_counter()
            result.ours = counts(case)
            if case.chunk_queries is not None:
                result.chunk = counts(case, case.chunk_queries)
            t1 = time.perf_counter()
            if case.row.startswith("lrnn") and case.row not in args.lrnn_train:
                print(f"{case.row}: neurons {result.ours} ({t1 - t0:.0f} s)", flush=True)
                continue
            epoch_times(case, result, args.time_epochs)
            print(f"{case.row}: neurons {result.ours} ({t1 - t0:.0f} s); epoch s "
                  + ", ".join(f"{k[0]} b{k[1]} {v:.4f}" for k, v in result.times.items())
                  + f"; final train errors " + ", ".join(f"{k[0]} b{k[1]} {v:.10f}" for k, v in result.errors.items())
                  + f" ({time.perf_counter() - t1:.0f} s)", flush=True)
        # 2. the reference in the background, 3. our cross-validation meanwhile
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        futures = {}
        if reference:
            for result in results:
                if not result.case.row.startswith("lrnn"):
                    futures[result.case.row] = pool.submit(reference_runs, result.case, 900.0)
        for result in results:
            case = result.case
            if case.row.startswith("lrnn") and case.row not in args.lrnn_train:
                continue
            epochs = args.lrnn_epochs if case.row.startswith("lrnn") else args.epochs
            accuracy(case, result, epochs, args.folds)
            print(f"{case.row}: test accuracy {result.accuracy} in "
                  + ", ".join(f"{k} {v:.0f} s" for k, v in result.xval_seconds.items()), flush=True)
        for result in results:
            future = futures.get(result.case.row)
            if future is not None:
                result.reference = future.result()
                print(f"{result.case.row}: reference {result.reference}", flush=True)
        pool.shutdown()
    seconds = time.perf_counter() - started
    molecules = f"seeded subsets of {args.molecules} molecules per screen" if args.molecules else "all molecules"
    kb = f"every {args.kb_every}th query of each KB" if args.kb_every > 1 else "all queries of each KB"
    print()
    print(f"Neurons the outputs reach ({molecules}; {kb}). Ours from the compression report; reference: the Java "
          "CLI's value lifting on the same files, summed over its samples, " +
          ("run in the same process tree." if reference else f"not run ({why_no_reference}).") +
          " The paper counts one cross-validation chunk (a fifth of the samples) with its own, inexact, chain "
          "pruning, so compare percentages; the LRNN rows are not run through the reference (our crosssum "
          "spelling of its crossproduct-sigmoid rule).")
    print()
    print("\n".join(neuron_table(results, reference)))
    print()
    trained = [r for r in results if r.accuracy]
    lrnn = [r for r in trained if r.case.row.startswith("lrnn")]
    print(f"Epoch time (median of {args.time_epochs} epochs after the first; Adam 0.03, MSE; same initial weights) "
          f"and test accuracy ({args.folds} folds x {args.epochs} epochs at our defaults: molecules batch 32, "
          "Adam 0.03, MSE; KBs full batch, Adam 0.1, loss auto"
          + (f"; LRNN rows {args.folds} folds x {args.lrnn_epochs} epochs on a seeded subset of "
             f"{args.lrnn_molecules} molecules, numpy engine (the fused engine has no crosssum)" if lrnn else "")
          + "). Reduced from the paper's 5 folds x 1000 epochs" +
          ("" if args.epochs >= 1000 else f" to {args.folds} x {args.epochs}") +
          "; the paper trains online in Java on one CPU, its time is per fold of 1000 epochs. "
          "Unlifted and lifted runs share seed, folds, batches and initial weights; their outputs and gradients "
          "agree to round-off, which Adam at lr 0.03 can amplify over long runs (compare the final training "
          "errors in the log above). "
          f"Whole script {seconds / 60:.1f} min on {os.cpu_count()} cores shared with other jobs (load average "
          f"{load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end).")
    print()
    print("\n".join(time_table(results)))
    not_trained = [r.case.row for r in results if not r.accuracy and r.case.row.startswith("lrnn")]
    if not_trained:
        print(f"\nNeurons only (no training columns, to keep the run short): {', '.join(not_trained)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
