"""Time to the reference's accuracy: each engine as a new user runs it, with its defaults, timed in one run.

Cases (``shared_cases.py``, written into a temporary ``-sd`` folder each; left out when the data is
absent): mutagenesis (c11 template), nations (the reference's own template), NCI 786_0 (the paper's molecule
GNN, no metadata; all 3504 molecules unless ``--nci-subset``), kinships (the paper's KB template), TU MUTAG
(GCN template).

Per case, in this order:

``reference``  ``java -jar NeuraLogic.jar -sd DIR -ts 100`` and nothing else (its CLI defaults: tanh
               functions, its inferred loss, online Adam), in a scratch working directory, under
               ``/usr/bin/time -v``. A = the train accuracy of its final line ("Pipeline ... finished with
               result: accuracy: X%"), T = the whole process's wall time, and its peak resident memory. Left
               out when Java or the jar is absent.
``ours (CLI)`` ``nlp train DIR --out SCRATCH`` and nothing else (``template.txt`` is in the folder), the
               whole process timed; its final train accuracy is the ``train`` evaluation of its
               ``results.json`` (the kept weights). Peak memory by ``/usr/bin/time -v`` too.
``ours (instrumented)``  the same command in a fresh interpreter that first wraps ``Model.fit`` to pass an
               ``on_epoch`` callback (``FitOptions.on_epoch``), then calls the CLI's ``main`` in-process:
               the callback stamps the wall clock at the end of every epoch and copies the weights; after
               the command ends the copies are evaluated (train accuracy, threshold 0.5, as the summary
               line). Time to A = the first epoch end whose weights reach A, measured from the moment the
               parent started the interpreter, so it includes start-up, parsing, grounding, building and
               compiling, like T. ``results.json`` records per-epoch training errors and evaluation errors but
               no per-epoch accuracy, hence this run. Its whole time (with the copies, before evaluating
               them) is printed next to the plain CLI run's to show what the instrumentation costs.

Before each case, ``nlp train templates/xor.rules datasets/xor --engine fused --epochs 1`` runs once so that
the fused engine's kernels are compiled and cached for the current source (``engine="auto"``, the default,
uses them only when they are; a first run on a new machine or after ``engine/fused.py`` changed would train
on the numpy engine or pay the compilation once). Whether they were cached already is printed.

Ratios: reference T / our time to A (above 1: ours reaches the reference's accuracy sooner than the reference
finishes), and reference T / our whole time. No timing is asserted anywhere. Nothing is written into the
repository.

Run: ``python benchmarks/time_to_accuracy.py [--cases mutagenesis,nations,nci,kinships,mutag]
[--nci-subset N] [--no-reference] [--no-cli] [--ts 100] [--reference-timeout 1800] [--ours-args "..."]``
(``--ours-args`` appends options to both of our runs, to try candidate defaults; the table is then not
"ours with its defaults", and the script says so).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import shared_cases  # noqa: E402

CASES = ("mutagenesis", "nations", "nci", "kinships", "mutag")
FINAL = re.compile(r"Pipeline .*finished with result: accuracy: ([0-9.]+)\s*%")
EPOCH = re.compile(r"epoch: (\d+) : online results : accuracy: ([0-9.]+)\s*%")

# The child for the instrumented run: wrap Model.fit, run the CLI in-process, then evaluate the copies.
CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np
from neuralogic_py.learn import model as model_module
from neuralogic_py.learn.metrics import accuracy

seen = {{}}
original_fit = model_module.Model.fit

def fit(self, train_data, *args, **options):
    params = self.store.learnable()
    stamps, copies = [], []
    def on_epoch(done, history):
        stamps.append(time.time())
        copies.append({{k: v.copy() for k, v in params.items()}})
        seen["engine"] = history.engine
    seen.update(model=self, data=train_data, stamps=stamps, copies=copies)
    return original_fit(self, train_data, *args, on_epoch=on_epoch, **options)

model_module.Model.fit = fit
from neuralogic_py.cli import main
code = main({argv!r})
ended = time.time()
model, (dataset, compiled) = seen["model"], (seen["data"], seen["model"].build(seen["data"])[1])
targets, values = compiled.targets(), dict(model.store.values)
curve = []
for stamp, copy in zip(seen["stamps"], seen["copies"]):
    values.update(copy)
    curve.append((stamp, accuracy(targets, model.loss.predictions(compiled.forward(values)))))
print("@@RESULT@@" + json.dumps({{"code": code, "ended": ended, "curve": curve, "engine": seen.get("engine")}}))
"""


def jar_path() -> Path | None:
    folder = shared_cases.reference_nations_dir()
    if folder is None:
        return None
    jar = folder.parents[3] / "jar" / "NeuraLogic.jar"
    return jar if jar.is_file() and shutil.which("java") else None


def timed(command: list[str], cwd: Path, timeout: float | None = None) -> dict:
    """Run ``command`` under ``/usr/bin/time -v`` (when present): wall time, peak RSS (MB), output."""
    wrapper = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    started = time.time()
    finished = subprocess.run(wrapper + command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              check=False)
    wall = time.time() - started
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", finished.stderr)
    return {"wall_s": wall, "peak_mb": int(peak.group(1)) / 1024 if peak else None, "code": finished.returncode,
            "stdout": finished.stdout, "stderr": finished.stderr, "started": started}


def run_reference(case: shared_cases.SharedCase, jar: Path, ts: int, scratch: Path, timeout: float) -> dict:
    work = scratch / f"ref_{case.name}"
    work.mkdir()
    out = timed(["java", "-jar", str(jar), "-sd", str(case.folder), "-ts", str(ts)], work, timeout)
    text = out["stdout"] + out["stderr"]
    final = FINAL.findall(text)
    epochs = EPOCH.findall(text)
    if out["code"] != 0 or not final:
        tail = [line for line in text.splitlines() if line.strip()][-1:] or ["no output"]
        return {"error": f"reference failed ({out['code']}): {tail[0][:200]}"}
    return {"accuracy": float(final[-1]) / 100, "wall_s": out["wall_s"], "peak_mb": out["peak_mb"],
            "epoch_log_lines": len(epochs)}


def run_cli(case: shared_cases.SharedCase, scratch: Path, extra: list[str]) -> dict:
    work = scratch / f"cli_{case.name}"
    work.mkdir()
    out = timed([sys.executable, "-m", "neuralogic_py", "train", str(case.folder), "--out", str(work / "out"),
                 *extra], work)
    results = work / "out" / "results.json"
    if out["code"] != 0 or not results.is_file():
        tail = [line for line in (out["stdout"] + out["stderr"]).splitlines() if line.strip()][-1:] or ["no output"]
        return {"error": f"nlp train failed ({out['code']}): {tail[0][:200]}"}
    data = json.loads(results.read_text())
    return {"accuracy": data["evaluations"]["train"]["accuracy"], "wall_s": out["wall_s"], "peak_mb": out["peak_mb"],
            "epochs": data["history"]["epochs"], "engine": data["history"].get("engine"),
            "training": data.get("model", {})}


def run_instrumented(case: shared_cases.SharedCase, scratch: Path, extra: list[str]) -> dict:
    work = scratch / f"api_{case.name}"
    work.mkdir()
    child = CHILD.format(root=str(ROOT), argv=["train", str(case.folder), "--out", str(work / "out"), *extra])
    out = timed([sys.executable, "-c", child], work)
    marker = [line for line in out["stdout"].splitlines() if line.startswith("@@RESULT@@")]
    if out["code"] != 0 or not marker:
        tail = [line for line in (out["stdout"] + out["stderr"]).splitlines() if line.strip()][-1:] or ["no output"]
        return {"error": f"instrumented run failed ({out['code']}): {tail[0][:200]}"}
    result = json.loads(marker[0][len("@@RESULT@@"):])
    start = out["started"]
    return {"curve": [(stamp - start, acc) for stamp, acc in result["curve"]], "ended_s": result["ended"] - start,
            "engine": result["engine"]}


def warm_up(folder: Path) -> None:
    """Compile and cache the fused kernels for the current source, if they are not (printed)."""
    check = subprocess.run([sys.executable, "-c", "from neuralogic_py.engine import jit; "
                            "print(jit.available() and jit.compiled_before())"],
                           capture_output=True, text=True, cwd=ROOT, check=False)
    folder.mkdir(parents=True)
    warm = timed([sys.executable, "-m", "neuralogic_py", "train", str(ROOT / "templates" / "xor.rules"),
                  str(ROOT / "datasets" / "xor"), "--engine", "fused", "--epochs", "1", "--out", str(folder / "out")],
                 folder)
    print(f"  fused kernels cached before: {check.stdout.strip() or check.stderr.strip()[-200:]}; warm-up run "
          f"{warm['wall_s']:.1f} s (exit {warm['code']})", flush=True)


def first_reaching(curve: list[tuple[float, float]], goal: float) -> tuple[int, float] | None:
    for epoch, (t, acc) in enumerate(curve, start=1):
        if acc >= goal - 1e-9:
            return epoch, t
    return None


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "" if value is None else format(value, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--nci-subset", type=int, default=0, help="molecules of NCI 786_0 (0: all 3504)")
    parser.add_argument("--no-reference", dest="reference", action="store_false")
    parser.add_argument("--no-cli", dest="cli", action="store_false", help="skip the plain (uninstrumented) run")
    parser.add_argument("--ts", type=int, default=100, help="the reference's -ts (training epochs)")
    parser.add_argument("--reference-timeout", type=float, default=1800)
    parser.add_argument("--ours-args", default="", help="extra nlp train options (then ours no longer runs its "
                        "defaults: for trying candidate defaults; printed with the table)")
    args = parser.parse_args()
    extra = args.ours_args.split()
    if extra:
        print(f"ours runs with extra options (not its defaults): {' '.join(extra)}")
    if not shared_cases.DATASETS.is_dir():
        print(f"skipped: the shared datasets are absent ({shared_cases.DATASETS})")
        return 0
    jar = jar_path() if args.reference else None
    if args.reference and jar is None:
        print("reference skipped: the neuralogic wheel's NeuraLogic.jar or java is absent")
    rows = []
    with tempfile.TemporaryDirectory(prefix="nlp_tta_") as tmp:
        scratch = Path(tmp)
        cases = shared_cases.make_cases(args.cases.split(","), scratch / "cases", args.nci_subset or None)
        for case in cases:
            print(f"\n== {case.name} ({case.note}; {case.samples} samples)", flush=True)
            warm_up(scratch / f"warm_{case.name}")
            row = {"case": case, "ref": None, "cli": None, "api": None}
            if jar is not None:
                try:
                    row["ref"] = run_reference(case, jar, args.ts, scratch, args.reference_timeout)
                except subprocess.TimeoutExpired:
                    row["ref"] = {"error": f"reference timed out after {args.reference_timeout:g} s"}
                print(f"  reference: {row['ref']}", flush=True)
            if args.cli:
                row["cli"] = run_cli(case, scratch, extra)
                print(f"  ours (CLI): { {k: v for k, v in row['cli'].items() if k != 'training'} }", flush=True)
                if "training" in row["cli"]:
                    print(f"    trained with: {row['cli']['training']}", flush=True)
            row["api"] = run_instrumented(case, scratch, extra)
            api = row["api"]
            if "error" in api:
                print(f"  ours (instrumented): {api['error']}", flush=True)
            else:
                print(f"  ours (instrumented): {len(api['curve'])} epochs, whole {api['ended_s']:.1f} s, "
                      f"engine {api['engine']}, accuracy per epoch "
                      f"{[round(a, 3) for _, a in api['curve'][:: max(1, len(api['curve']) // 10)]]}", flush=True)
            rows.append(row)
    print("\n| case | reference A | reference T s | reference peak MB | ours T s (CLI) | ours T s (instrumented) "
          "| ours engine | ours final train acc. | ours peak MB | ours first reaches A: epoch, s | ref. T / ours to A "
          "| ref. T / ours T |")
    print("| --- |" + " --- |" * 11)
    for row in rows:
        ref, cli, api = row["ref"] or {}, row["cli"] or {}, row["api"] or {}
        goal = ref.get("accuracy")
        reached = first_reaching(api.get("curve", []), goal) if goal is not None else None
        ours_t = cli.get("wall_s") or api.get("ended_s")
        print(f"| {row['case'].name} | {fmt(goal * 100 if goal is not None else None, '.2f')}{'%' if goal else ''} "
              f"| {fmt(ref.get('wall_s'))} | {fmt(ref.get('peak_mb'), '.0f')} | {fmt(cli.get('wall_s'))} "
              f"| {fmt(api.get('ended_s'))} | {cli.get('engine') or ''}/{api.get('engine') or ''} "
              f"| {fmt(cli['accuracy'] * 100 if 'accuracy' in cli else None, '.2f')}{'%' if 'accuracy' in cli else ''} "
              f"| {fmt(cli.get('peak_mb'), '.0f')} "
              f"| {'' if goal is None else ('never' if reached is None else f'{reached[0]}, {reached[1]:.1f}')} "
              f"| {'' if not reached else fmt(ref['wall_s'] / reached[1], '.2f')} "
              f"| {'' if not (goal and ours_t) else fmt(ref['wall_s'] / ours_t, '.2f')} |")
        for part in (ref, cli, api):
            if "error" in part:
                print(f"  {row['case'].name}: {part['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
