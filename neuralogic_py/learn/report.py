"""What ``nlp train`` and ``nlp test`` print and write: summaries, predictions, results.

Files under the output folder (how they are written: :mod:`neuralogic_py.output`)::

    model.json                    the trained model (:meth:`Model.to_text`)
    predictions/<split>.tsv       one line per sample: id, query, target, output, score
    results.json                  settings, history, metrics of every split
    history.csv                   per epoch: time, learning rate, losses and metrics (:func:`history_csv`)
    checkpoint.json               with --checkpoint-every: the run so far (:mod:`.checkpoint`)

Cross-validation writes ``results.json`` with every fold and the summary, and per fold
``<fold>/predictions/test.tsv``. ``nlp test --out`` writes ``evaluation.json`` and
``evaluation/<split>.tsv``, beside a training's files without replacing them.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from ..errors import display_path
from ..language.pairing import counted
from ..output import OutputFolder
from .metrics import Evaluation
from .model import CrossValidation, FitResult, FoldResult, Model, Predictions
from .trainer import SELECTION_METRICS, History

SUMMARY_METRICS = (("accuracy", "accuracy"), ("auc_roc", "AUC-ROC"), ("auc_pr", "AUC-PR"), ("error", "error"))


def split_line(role: str, evaluation: Evaluation) -> str:
    """``train: accuracy: 100%, disp: ..., error: ...`` (the reference's summary layout)."""
    return f"{role}: {evaluation.line()}"


def fit_lines(model: Model, result: FitResult, seconds_build: float) -> list[str]:
    """How training went: optimizer, epochs, time, the kept weights."""
    h = result.history
    loss = model.output.loss.name if model.output else "?"
    inferred = f", {model.output.task}" if model.output else ""
    if model.settings.output_activation:
        inferred += f", output activation {model.settings.output_activation}"
    per_epoch = f"{1000 * h.seconds / h.epochs:.1f} ms/epoch; " if h.epochs else ""
    batch = model.training.get("batch_size")
    lines = [(f"trained {model.training.get('optimizer', '')}, {counted(h.epochs, 'epoch')}, "
              f"{'full batch' if batch == 0 else f'batch size {batch}'}, loss {loss}{inferred}, {h.engine} engine: "
              f"{h.seconds:.2f} s ({per_epoch}grounding and compiling {seconds_build:.2f} s)")]
    kept = "the initial weights" if h.best_epoch == 0 else f"the weights of epoch {h.best_epoch}"
    stop = f", stopped early after {counted(h.epochs, 'epoch')}" if h.stopped_early else ""
    lines.append(f"kept {kept} (lowest {h.selection_set} error {h.best_error:.4g}){stop}")
    return lines


def fold_line(fold: FoldResult) -> str:
    return (f"{fold.name}: train {_metric_text(fold.fit.train)}; test {_metric_text(fold.test)} "
            f"({counted(fold.fit.history.epochs, 'epoch')}, {fold.fit.history.seconds:.1f} s)")


def _metric_text(e: Evaluation) -> str:
    if e.kind == "regression":
        return f"error {e.error:.4g}"
    text = f"accuracy {_pct(e.accuracy)}"
    if e.kind == "binary":
        text += f", AUC-ROC {_num(e.auc_roc)}"
    return text + f", error {e.error:.4g}"


def xval_lines(cv: CrossValidation) -> list[str]:
    """Mean +- standard deviation over the folds, for train and test."""
    lines = [f"{len(cv.folds)}-fold cross-validation (mean +- std over folds):"]
    for key, label in SUMMARY_METRICS:
        s = cv.summary(key)
        if all(math.isnan(v) for v in s["test"]):
            continue
        lines.append(f"  {label:<9} train {_pm(*s['train'], key)}  test {_pm(*s['test'], key)}")
    return lines


def _pm(mean: float, std: float, key: str) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.4f} +- {std:.4f}"


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.4g}%"


def _num(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.4g}"


def write_predictions(folder: OutputFolder, predictions: dict[str, Predictions],
                      under: str = "predictions") -> list[Path]:
    """``<under>/<split>.tsv`` for each split, written into ``folder`` (staged until it commits)."""
    return [folder.write(f"{under}/{role}.tsv", p.tsv()) for role, p in predictions.items()]


def json_text(data: dict[str, Any]) -> str:
    """``data`` as JSON; NaN and infinities (metrics that do not apply) become null."""
    return json.dumps(_plain(data), indent=1, allow_nan=False) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def written_line(paths: list[Path]) -> str:
    return "wrote " + ", ".join(display_path(p) for p in paths)


def history_columns(history: History) -> list[str]:
    """The columns of :func:`history_csv`; ``<set>`` is ``val`` when a validation set selects, else ``train``."""
    prefix = "val" if history.selection_set == "validation" else "train"
    return ["epoch", "seconds", "learning_rate", "batch_loss", f"{prefix}_loss",
            *(f"{prefix}_{name}" for name in SELECTION_METRICS)]


def history_csv(history: History) -> str:
    """One row per epoch (0: the initial weights), from what training computed, with no extra pass.

    ``seconds``: training time when the epoch ended; ``learning_rate``; ``batch_loss``: the mean of
    the epoch's mini-batch losses (the weights change during the epoch); ``<set>_loss`` and
    ``<set>_accuracy``, ``_auc_roc``, ``_auc_pr``: the evaluation of the selection set (validation,
    else training samples) after the epoch, in epochs that had one. An empty cell: not computed
    in that epoch, or not defined (accuracy of a regression).
    """
    evaluations = {epoch: (error, metrics) for (epoch, error), metrics in
                   zip(history.selection_error, history.selection_metrics)}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(history_columns(history))
    for epoch in range(history.epochs + 1):
        trained = [history.epoch_seconds[epoch - 1], history.learning_rate[epoch - 1],
                   history.train_error[epoch - 1]] if epoch else [0.0, None, None]
        error, metrics = evaluations.get(epoch, (None, {}))
        writer.writerow([epoch, *map(_cell, [*trained, error, *(metrics.get(m) for m in SELECTION_METRICS)])])
    return out.getvalue()


def _cell(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else repr(float(value))
