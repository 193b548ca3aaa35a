"""A training run's folder as ``nlp plot`` and ``nlp report`` read it.

``nlp train --out DIR`` leaves ``results.json`` (settings, history, compression, the metrics of
every split), ``history.csv`` (:func:`~neuralogic_py.learn.report.history_csv`), ``model.json`` (with
the template's text) and ``predictions/<split>.tsv``. :func:`read_run` reads them, and stops
with a message (exit status 2 on the command line) for a folder that does not exist or holds
no ``results.json`` of a single training run.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NeuralogicError, display_path

RESULTS = "results.json"
HISTORY = "history.csv"
MODEL = "model.json"
PREDICTIONS = "predictions"


@dataclass
class Run:
    """What a training run left in its folder.

    ``history`` maps each column of ``history.csv`` to its values (NaN for an empty cell);
    ``predictions`` maps each split to its (targets, scores) of a binary task (none otherwise).
    """

    folder: Path
    results: dict[str, Any]
    history: dict[str, list[float]] = field(default_factory=dict)
    predictions: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    template: str | None = None

    @property
    def name(self) -> str:
        return display_path(self.folder)


def read_run(folder: str | Path) -> Run:
    """The run in ``folder`` (module docstring)."""
    folder = Path(folder)
    where = display_path(folder)
    hint = "give the --out folder of an nlp train run (default target/out)"
    if not folder.is_dir():
        raise NeuralogicError(f"{where}: no such folder" if not folder.exists() else f"{where} is not a folder",
                              hint=hint)
    path = folder / RESULTS
    if not path.is_file():
        raise NeuralogicError(f"{where} holds no {RESULTS}: not the folder of a finished nlp train run", hint=hint)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise NeuralogicError(f"{display_path(path)}: not JSON ({e})") from None
    if not isinstance(results, dict) or results.get("command") != "train" or "folds" in results \
            or "history" not in results:
        raise NeuralogicError(f"{display_path(path)} is not the result of a single nlp train run",
                              hint="cross-validations and nlp test evaluations have no training history to show")
    run = Run(folder, results)
    if (folder / HISTORY).is_file():
        run.history = _columns(folder / HISTORY)
    for split in ("train", "val", "test"):
        tsv = folder / PREDICTIONS / f"{split}.tsv"
        if tsv.is_file() and (results.get("evaluations", {}).get(split) or {}).get("kind") == "binary":
            run.predictions[split] = _scores(tsv)
    if (folder / MODEL).is_file():
        try:
            run.template = json.loads((folder / MODEL).read_text(encoding="utf-8")).get("template")
        except ValueError:
            run.template = None
    return run


def _columns(path: Path) -> dict[str, list[float]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    try:
        return {name: [float(row[i]) if i < len(row) and row[i] else math.nan for row in body]
                for i, name in enumerate(header)}
    except ValueError as e:
        raise NeuralogicError(f"{display_path(path)}: not a history written by nlp train ({e})") from None


def _scores(path: Path) -> tuple[list[float], list[float]]:
    """The targets and scores of a binary task's ``predictions/<split>.tsv``."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    try:
        return [float(r["target"]) for r in rows], [float(r["score"]) for r in rows]
    except (KeyError, TypeError, ValueError) as e:
        raise NeuralogicError(f"{display_path(path)}: not predictions written by nlp train ({e})") from None
