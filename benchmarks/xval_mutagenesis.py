"""Learning quality: 10-fold stratified cross-validation on mutagenesis with the c11-style GNN.

Data: ``../shared/datasets/mutagenesis`` (188 molecules, 125 positive); template: the c11 conformance
template (42 atom-type and 6 bond-type embedding rules, two message-passing layers, an averaged
readout), its weights drawn fresh for every fold. Prints per fold the train and test accuracy and
AUC-ROC, then mean +- std over the folds, and the wall time. The reference engine reaches a test
accuracy of roughly 0.75-0.8 on this data (language.md §8, issue 4).

Run: ``python benchmarks/xval_mutagenesis.py [--epochs 100] [--batch-size 16] [--lr 0.03] [--loss auto]
[--folds 10] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from neuralogic_py.learn.dataset import Dataset
from neuralogic_py.learn.model import Model
from neuralogic_py.learn.report import fold_line, xval_lines

SHARED = (HERE.parent / ".." / "shared").resolve()
TEMPLATE = SHARED / "conformance" / "c11_mutagenesis_gnn" / "template.txt"
DATA = SHARED / "datasets" / "mutagenesis"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.03)
    parser.add_argument("--loss", default="auto")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not TEMPLATE.is_file() or not DATA.is_dir():
        print(f"skipped: the shared material is absent ({TEMPLATE.parent}, {DATA})")
        return 0
    started = time.perf_counter()
    model = Model(TEMPLATE, seed=args.seed, loss=args.loss)
    data = Dataset.load(DATA / "examples.txt", DATA / "queries.txt")
    print(f"mutagenesis, c11 template: {args.folds}-fold xval, {args.epochs} epochs, batch size {args.batch_size}, "
          f"adam lr {args.lr}, loss {args.loss}, seed {args.seed}", flush=True)
    cv = model.cross_validate(data, args.folds, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                              on_fold=lambda fold: print(fold_line(fold), flush=True))
    print("\n".join(xval_lines(cv)))
    print(f"total {time.perf_counter() - started:.1f} s (grounding once, then {args.folds} trainings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
