"""Regenerate the example images of docs/pictures.md: run from the repository root.

    python docs/images/make_images.py

Needs Graphviz's dot (Debian package graphviz) and matplotlib (pip install '.[plot]'). Every image
is made by the documented nlp commands, so the pictures are what a user gets:

* template.svg: templates/gnn.rules;
* ground.svg, lifted.svg: example 5 of datasets/molecules (ethanethiol), ground and lifted;
* curves.png, roc_pr.png: a training on datasets/carbonyl with a validation quarter.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "docs" / "images"
MOLECULE = ["templates/gnn.rules", "datasets/molecules", "--example", "5"]


def nlp(*args: str) -> None:
    """Run ``nlp ARGS`` from the repository root (as ``python -m neuralogic_py``); stop on failure."""
    subprocess.run([sys.executable, "-m", "neuralogic_py", *args], cwd=REPO, check=True)


def main() -> None:
    nlp("draw", "templates/gnn.rules", "-o", str(IMAGES / "template.svg"))
    nlp("draw", *MOLECULE, "--network", "ground", "-o", str(IMAGES / "ground.svg"))
    nlp("draw", *MOLECULE, "--network", "lifted", "-o", str(IMAGES / "lifted.svg"))
    with tempfile.TemporaryDirectory() as run:
        nlp("train", "templates/gnn.rules", "datasets/carbonyl", "--epochs", "40", "--batch-size", "16", "--lr",
            "0.03", "--val-fraction", "0.25", "--engine", "numpy", "--no-progress", "--out", run)
        nlp("plot", run)
        for name in ("curves.png", "roc_pr.png"):
            shutil.copyfile(Path(run) / "plots" / name, IMAGES / name)


if __name__ == "__main__":
    main()
