"""An epoch of ``nlp train`` against an epoch of the reference's Java CLI, both as a user runs them.

For each case, in one invocation:

* the reference: ``java -jar NeuraLogic.jar -sd DIR -ts N`` with nothing else (its defaults: online
  training, i.e. batch 1, Adam, its compression on); its epoch time is the median gap between the
  timestamps of its own end-of-epoch log lines ("epoch: K : online results"), so its JVM start-up
  (which varies by +-0.5 s) and dataset build do not count;
* ours: ``nlp train DIR --batch-size B --epochs E --engine fused`` (whole process), its epoch time
  ``(T(1 + N epochs) - T(1 epoch)) / N``, so parsing, grounding, lifting, compiling and writing the
  outputs cancel out (the engine is named so that both runs use the one ``auto`` takes for a
  training of the default 200 epochs); batch 1 is the reference's online mode (same batching, same number of updates),
  batch 32 is ours with mini-batches; both also evaluate the training set once per epoch (our model
  selection), which the reference's online epoch does not, so the comparison is conservative.

Cases: mutagenesis with the c11 conformance template, and nations with the reference's own template
(copied from the installed ``neuralogic`` wheel into a scratch ``-sd`` folder with the shared data).
Scratch folders are temporary; nothing is written into the repository.

    python benchmarks/online_epoch.py [--epochs N]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EPOCH_LINE = re.compile(r"- (\d\d):(\d\d):(\d\d):(\d+) <[^>]*IterativeTrainingStrategy> \(endEpoch\).*epoch: (\d+) :")


def reference_jar() -> Path | None:
    try:
        import neuralogic
    except ImportError:
        return None
    jar = Path(neuralogic.__file__).parent / "jar" / "NeuraLogic.jar"
    return jar if jar.is_file() and shutil.which("java") else None


def cases(scratch: Path) -> list[tuple[str, Path]]:
    """(name, -sd folder) of every case whose data is present."""
    out = []
    c11 = SHARED / "conformance" / "c11_mutagenesis_gnn"
    if c11.is_dir():
        folder = scratch / "c11"
        folder.mkdir()
        for name in ("template.txt", "examples.txt", "queries.txt"):
            shutil.copy(c11 / name, folder / name)
        out.append(("mutagenesis, c11 template", folder))
    jar = reference_jar()
    kb = SHARED / "datasets" / "kbs" / "nations"
    if jar is not None and kb.is_dir():
        wheel = jar.parents[1] / "utils" / "data" / "datasets" / "nations"
        folder = scratch / "nations"
        folder.mkdir()
        for source in (wheel / "template.txt", wheel / "embeddings.txt", kb / "examples.txt", kb / "queries.txt"):
            shutil.copy(source, folder / source.name)
        out.append(("nations, the reference's template", folder))
    return out


def reference_epoch(jar: Path, folder: Path, epochs: int) -> float:
    """Median seconds between the reference's end-of-epoch log lines."""
    log = subprocess.run(["java", "-jar", str(jar), "-sd", str(folder), "-ts", str(epochs)], capture_output=True,
                         text=True, cwd=folder).stdout
    stamps = []
    for h, m, s, ms, _ in EPOCH_LINE.findall(log):
        stamps.append(int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000)
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    if not gaps:
        raise RuntimeError(f"no epoch lines in the reference's log of {folder}")
    return statistics.median(gaps)


def ours(folder: Path, batch: int, epochs: int, out: Path) -> float:
    """Seconds of one ``nlp train`` process."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "neuralogic_py", "train", str(folder), "--batch-size", str(batch),
                    "--epochs", str(epochs), "--out", str(out), "--no-progress", "--engine", "fused"], check=True,
                   capture_output=True)
    return time.perf_counter() - started


def our_epoch(folder: Path, batch: int, epochs: int, out: Path) -> tuple[float, int]:
    """Seconds per epoch and the epochs timed: at least ``epochs``, and more until they take 3 s in all,
    so that the noise of a process's start (+-0.2 s) is small beside them. Best of three runs each."""
    one = min(ours(folder, batch, 1, out) for _ in range(3))
    while True:
        many = min(ours(folder, batch, 1 + epochs, out) for _ in range(3))
        if many - one >= 3.0 or epochs >= 2560:
            return (many - one) / epochs, epochs
        epochs *= 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs timed on each side (default 10)")
    args = parser.parse_args()
    jar = reference_jar()
    print(f"{datetime.now():%Y-%m-%d %H:%M}, epochs timed: {args.epochs}; reference: "
          f"{'java -jar ' + str(jar) if jar else 'absent (its columns are left out)'}")
    print("| case | reference online epoch, ms | ours batch 1, ms (epochs timed) | reference / ours | "
          "ours batch 32, ms (epochs timed) | reference / ours |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for name, folder in cases(scratch):
            ref = reference_epoch(jar, folder, args.epochs + 2) if jar else None
            (one, n_one), (many, n_many) = (our_epoch(folder, b, args.epochs, scratch / "out") for b in (1, 32))
            cell = (lambda t: f"{1000 * t:.1f}")
            ratio = (lambda t: f"{ref / t:.1f}x" if ref else "")
            print(f"| {name} | {cell(ref) if ref else ''} | {cell(one)} ({n_one}) | {ratio(one)} | "
                  f"{cell(many)} ({n_many}) | {ratio(many)} |", flush=True)


if __name__ == "__main__":
    main()
