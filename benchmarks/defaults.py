"""Choosing ``nlp train``'s defaults by measurement: batch size, optimizer, learning rate and loss.

Cases (``shared_cases.py``; written into a temporary folder; a case whose data is absent is left out):
mutagenesis (c11 template), NCI 786_0 (the paper's molecule GNN, no metadata; a seeded subset of
``--nci-subset`` molecules, 1000 by default, the whole set with ``--nci-subset 0``), nations (the reference's
own template), kinships (the paper's KB-embedding template), TU MUTAG (the GCN template).

Each setting trains from the same initial weights (per seed) through the Python API
(``Model(template, seed=s, loss=...)``, ``model.fit(..., epochs=huge, batch_size, optimizer, lr)``, engine
``auto``; everything else our defaults: fixed batches visited in a new order each epoch) for a fixed
wall-clock budget per case. ``on_epoch`` stamps the wall time of each epoch's end and copies the weights
about 60 times per budget (the copies are evaluated after the run, so evaluating costs the run nothing);
the budget's clock starts when ``fit`` is called, after the case's network is built and a one-epoch warm-up
run has built the fused program (their one-off cost is printed apart). Per setting it reports the train
accuracy of the last weights, the best accuracy of any copy, and the time at which a copy first reached 95%
of the best accuracy any setting of that case reached ("t95"; "-" = never within the budget).

Stages (``--quick`` halves the budgets):

1. the grid, loss ``auto`` (the reference's inference: classification -> identity output, cross-entropy on
   logits), seed 0: batch size 1, 8, 16, 32, 64 and full (0) x Adam lr 0.001, 0.003, 0.01, 0.03, 0.1 and
   SGD lr 0.1, 0.3, 1.0;
2. the four best settings of each case (by t95, then final accuracy) again with loss ``mse`` (the
   template's output function kept) at seed 0, and with both losses at seeds 1 and 2.

Scores: a setting's *score* on a case is its median over seeds of t95 (a budget's length when it never gets
there); the recommendation is the setting, among those every case of a kind ran, with the smallest geometric
mean of score / the case's best score, for example sets (molecules, graphs) and for knowledge bases (one
example, many queries) apart.

Run: ``python benchmarks/defaults.py [--quick] [--cases mutagenesis,nci,nations,kinships,mutag]
[--nci-subset 1000] [--seeds 3]``. Nothing is written into the repository.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import shared_cases  # noqa: E402

BATCHES = (1, 8, 16, 32, 64, 0)
OPTIMIZERS = (("adam", 0.001), ("adam", 0.003), ("adam", 0.01), ("adam", 0.03), ("adam", 0.1),
              ("sgd", 0.1), ("sgd", 0.3), ("sgd", 1.0))
BUDGET_S = {"mutagenesis": 1.5, "mutag": 1.5, "nci": 3.0, "nations": 3.0, "kinships": 4.0}
SNAPSHOTS = 60
TOP = 4


class _Budget(Exception):
    pass


@dataclass(frozen=True)
class Setting:
    batch: int
    optimizer: str
    lr: float
    loss: str

    def label(self) -> str:
        return f"b{self.batch or 'full'} {self.optimizer} {self.lr:g} {self.loss}"

    def core(self) -> tuple[int, str, float]:
        return self.batch, self.optimizer, self.lr


@dataclass
class Run:
    setting: Setting
    seed: int
    epochs: int
    curve: list[tuple[float, float, int]]  # (seconds since fit started, train accuracy, epochs done)
    final: float
    best: float
    engine: str


@dataclass
class CaseRuns:
    case: shared_cases.SharedCase
    budget: float
    overhead: dict[str, float] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)

    def best_accuracy(self) -> float:
        return max(r.best for r in self.runs)

    def t95(self, run: Run) -> float | None:
        goal = 0.95 * self.best_accuracy()
        return next((t for t, a, _ in run.curve if a >= goal - 1e-12), None)

    def e95(self, run: Run) -> int | None:
        """Epochs done when ``run`` first reached 95% of the best accuracy (None: never)."""
        goal = 0.95 * self.best_accuracy()
        return next((e for _, a, e in run.curve if a >= goal - 1e-12), None)

    def score(self, setting: Setting) -> float | None:
        """Median over seeds of t95 (the budget when never reached); None when not run."""
        times = [self.t95(r) for r in self.runs if r.setting == setting]
        if not times:
            return None
        return statistics.median(self.budget if t is None else t for t in times)


class Trainer:
    """One case's model per loss, built once; runs settings from re-drawn initial weights."""

    def __init__(self, case: shared_cases.SharedCase) -> None:
        self.case = case
        self.models: dict[tuple[str, int], object] = {}
        self.overhead: dict[str, float] = {}

    def _model(self, loss: str, seed: int):
        from neuralogic_py.learn.dataset import Dataset
        from neuralogic_py.learn.model import Model

        key = (loss, seed)
        if key not in self.models:
            started = time.perf_counter()
            model = Model(self.case.template, seed=seed, loss=loss)
            dataset = Dataset.load(self.case.folder)
            model.fit(dataset, epochs=1, batch_size=0)  # builds the network and the fused program
            self.overhead[f"build + warm-up, loss {loss}, seed {seed}"] = time.perf_counter() - started
            self.models[key] = (model, dataset, model.build(dataset)[1])
        return self.models[key]

    def run(self, setting: Setting, seed: int, budget: float) -> Run:
        from neuralogic_py.learn.metrics import accuracy

        model, dataset, compiled = self._model(setting.loss, seed)
        model.store.reset(np.random.default_rng(np.random.SeedSequence([seed, 7])))
        model.order_rng = np.random.default_rng(seed)
        params = model.store.learnable()
        snapshots: list[tuple[float, int, dict[str, np.ndarray]]] = [(0.0, 0, {k: v.copy() for k, v in params.items()})]
        every = budget / SNAPSHOTS
        state = {"epochs": 0}
        started = time.perf_counter()

        def on_epoch(done: int, history) -> None:
            now = time.perf_counter() - started
            state["epochs"], state["engine"] = done, history.engine
            if now - snapshots[-1][0] >= every or now >= budget:
                snapshots.append((now, done, {k: v.copy() for k, v in params.items()}))
            if now >= budget:
                raise _Budget

        state["engine"] = "?"
        try:
            model.fit(dataset, epochs=10**6, batch_size=setting.batch, optimizer=setting.optimizer,
                      lr=setting.lr, on_epoch=on_epoch, eval_every=10**6, restore_best=False)
        except _Budget:
            pass
        except Exception as error:  # noqa: BLE001 - a diverging setting is a result, not a crash of the sweep
            print(f"    {setting.label()} seed {seed}: {type(error).__name__}: {str(error).splitlines()[0]}")
        targets = compiled.targets()
        values = dict(model.store.values)
        curve = []
        for t, done, snap in snapshots:
            values.update(snap)
            with np.errstate(all="ignore"):
                scores = model.loss.predictions(compiled.forward(values))
            curve.append((t, accuracy(targets, scores) if np.isfinite(scores).all() else 0.0, done))
        return Run(setting, seed, state["epochs"], curve, curve[-1][1], max(a for _, a, _ in curve), state["engine"])


def sweep_case(case: shared_cases.SharedCase, budget: float, seeds: int) -> CaseRuns:
    out = CaseRuns(case, budget)
    trainer = Trainer(case)
    print(f"\n== {case.name} ({case.note}; {case.samples} samples), budget {budget:g} s per setting", flush=True)
    for batch in BATCHES:
        for optimizer, lr in OPTIMIZERS:
            run = trainer.run(Setting(batch, optimizer, lr, "auto"), 0, budget)
            out.runs.append(run)
            print(f"  {run.setting.label():28s} epochs {run.epochs:6d} final {run.final:.3f} best {run.best:.3f}",
                  flush=True)
    ranked = sorted({r.setting for r in out.runs}, key=lambda s: (out.score(s), -next(
        r.final for r in out.runs if r.setting == s)))
    for setting in ranked[:TOP]:
        mse = Setting(*setting.core(), "mse")
        jobs = [(mse, 0)] + [(s, seed) for seed in range(1, seeds) for s in (setting, mse)]
        for s, seed in jobs:
            run = trainer.run(s, seed, budget)
            out.runs.append(run)
            print(f"  {s.label():28s} seed {seed} epochs {run.epochs:6d} final {run.final:.3f} best {run.best:.3f}",
                  flush=True)
    out.overhead = trainer.overhead
    return out


def _fmt_t(t: float | None) -> str:
    return "-" if t is None else f"{t:.2f}"


def table(results: list[CaseRuns]) -> str:
    """Markdown: per case, the settings run on more than one seed, then the grid's best few."""
    lines = []
    for res in results:
        lines.append(f"\n#### {res.case.name} ({res.case.note}), budget {res.budget:g} s, "
                     f"best accuracy seen {res.best_accuracy():.3f}")
        lines.append("")
        lines.append("| setting | seeds | epochs in budget | final accuracy (median) | best (median) | "
                     "t95 s (median; per seed) | epochs to t95 (per seed) |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- |")
        settings = sorted({r.setting for r in res.runs}, key=lambda s: (res.score(s), s.label()))
        shown = [s for s in settings if sum(r.setting == s for r in res.runs) > 1]
        shown += [s for s in settings if s not in shown][: max(0, 12 - len(shown))]
        for s in shown:
            runs = [r for r in res.runs if r.setting == s]
            lines.append(f"| {s.label()} | {len(runs)} | {int(statistics.median(r.epochs for r in runs))} | "
                         f"{statistics.median(r.final for r in runs):.3f} | "
                         f"{statistics.median(r.best for r in runs):.3f} | "
                         f"{_fmt_t(res.score(s)) if any(res.t95(r) is not None for r in runs) else '-'} "
                         f"({', '.join(_fmt_t(res.t95(r)) for r in runs)}) | "
                         f"{', '.join('-' if res.e95(r) is None else str(res.e95(r)) for r in runs)} |")
        lines.append("")
        lines.append("One-off cost before the budgets: " + "; ".join(f"{k} {v:.1f} s" for k, v in res.overhead.items()))
    return "\n".join(lines)


def batch_table(results: list[CaseRuns]) -> str:
    """Markdown: per case and batch size, the best seed-0 loss-auto setting's t95 and final accuracy."""
    lines = ["\n| case | " + " | ".join(f"batch {b or 'full'}" for b in BATCHES) + " |",
             "| --- |" + " --- |" * len(BATCHES)]
    for res in results:
        cells = []
        for b in BATCHES:
            runs = [r for r in res.runs if r.setting.batch == b and r.setting.loss == "auto" and r.seed == 0]
            if not runs:
                cells.append("")
                continue
            best = min(runs, key=lambda r: (res.budget if res.t95(r) is None else res.t95(r), -r.final))
            cells.append(f"{_fmt_t(res.t95(best))} s, {best.final:.3f} ({best.setting.optimizer} {best.setting.lr:g})")
        lines.append(f"| {res.case.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def recommend(results: list[CaseRuns], kind: str) -> str:
    group = [r for r in results if r.case.kb == (kind == "kb")]
    if not group:
        return f"{kind}: no case"
    common = set.intersection(*({r.setting for r in res.runs} for res in group))
    rated = []
    for s in common:
        ratios = []
        for res in group:
            best = min(res.score(x) for x in {r.setting for r in res.runs})
            ratios.append(res.score(s) / max(best, 1e-3))
        rated.append((math.exp(statistics.fmean(math.log(x) for x in ratios)), s, ratios))
    rated.sort(key=lambda x: (x[0], x[1].label()))
    names = ", ".join(res.case.name for res in group)
    out = [f"{'knowledge bases' if kind == 'kb' else 'example sets'} ({names}): settings every case ran, "
           "by geometric mean of (median t95) / (the case's best):"]
    for g, s, ratios in rated[:6]:
        out.append(f"  {s.label():28s} {g:.2f}  ({', '.join(f'{x:.2f}' for x in ratios)})")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(shared_cases.CASES))
    parser.add_argument("--quick", action="store_true", help="half the time budgets")
    parser.add_argument("--budget-scale", type=float, default=1.0, help="multiply the time budgets")
    parser.add_argument("--nci-subset", type=int, default=1000, help="molecules of NCI 786_0 (0: all 3504)")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    if not shared_cases.DATASETS.is_dir():
        print(f"skipped: the shared datasets are absent ({shared_cases.DATASETS})")
        return 0
    scale = (0.5 if args.quick else 1.0) * args.budget_scale
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nlp_defaults_") as tmp:
        cases = shared_cases.make_cases(args.cases.split(","), Path(tmp), args.nci_subset or None)
        results = [sweep_case(case, BUDGET_S[case.name] * scale, args.seeds) for case in cases]
    print("\n## Per case\n" + table(results))
    print("\n## Best seed-0 setting per batch size (t95, final accuracy)\n" + batch_table(results))
    print("\n## Recommendation\n")
    print(recommend(results, "examples"))
    print(recommend(results, "kb"))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
