"""A training run's curves with matplotlib (the optional extra ``plot``: ``pip install 'neuralogic_py[plot]'``).

:func:`figures` makes, from a run folder (:func:`~.run.read_run`):

* ``curves``: per epoch, the losses (the mean batch loss of the training pass, and the
  selection set's loss, validation or training samples, at each evaluation) and the selection
  set's accuracy, AUC-ROC and AUC-PR, from ``history.csv``; the epoch whose weights were kept
  is marked;
* ``roc_pr``: the ROC and precision-recall curves of the final predictions of every split of a
  binary task (``predictions/<split>.tsv``).

matplotlib is imported only here, and only when a figure is made; without it the message names
the extra to install.
"""

from __future__ import annotations

import io
import math
from typing import Any

from ..errors import NeuralogicError
from .run import Run

SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}
METRIC_NAMES = {"accuracy": "accuracy", "auc_roc": "AUC-ROC", "auc_pr": "AUC-PR"}


class MatplotlibMissing(NeuralogicError):
    """A plot was asked for and matplotlib is not installed."""


def figure_class() -> Any:
    """matplotlib's ``Figure`` (no pyplot, no window), or :class:`MatplotlibMissing`."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MatplotlibMissing("plotting needs matplotlib: pip install 'neuralogic_py[plot]'") from None
    return Figure


def figures(run: Run) -> dict[str, Any]:
    """The figures the run has data for, by name (``curves``, ``roc_pr``)."""
    made = {"curves": curves(run), "roc_pr": roc_pr(run)}
    return {name: figure for name, figure in made.items() if figure is not None}


def curves(run: Run) -> Any:
    """Loss and metric curves per epoch (module docstring), or None without a history."""
    history = run.history
    if not history.get("epoch"):
        return None
    figure = figure_class()(figsize=(10, 3.8), layout="constrained")
    losses, metrics = figure.subplots(1, 2)
    epochs = history["epoch"]
    selection = next((c[:-len("_loss")] for c in history if c.endswith("_loss") and c != "batch_loss"), None)
    _line(losses, epochs, history.get("batch_loss", []), "mean batch loss (training pass)")
    if selection:
        _line(losses, epochs, history[f"{selection}_loss"], f"{SPLIT_NAMES[selection]} loss (evaluation)")
        for key, label in METRIC_NAMES.items():
            _line(metrics, epochs, history.get(f"{selection}_{key}", []), f"{SPLIT_NAMES[selection]} {label}")
    best = run.results.get("history", {}).get("best_epoch")
    for axes, title in ((losses, "loss"), (metrics, "metrics")):
        if best is not None and axes.lines:
            axes.axvline(best, color="#999999", linestyle=":", label=f"kept weights (epoch {best})")
        axes.set_xlabel("epoch")
        axes.set_title(title)
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend(fontsize="small")
        else:
            axes.text(0.5, 0.5, "no metrics (not a classification)", ha="center", va="center",
                      transform=axes.transAxes)
    return figure


def roc_pr(run: Run) -> Any:
    """ROC and precision-recall curves of the final predictions per split, or None for a task that is not binary."""
    from ..learn.metrics import curve_points

    points = {split: curve_points(*scores) for split, scores in run.predictions.items()}
    points = {split: p for split, p in points.items() if p is not None}
    if not points:
        return None
    figure = figure_class()(figsize=(10, 4), layout="constrained")
    roc, pr = figure.subplots(1, 2)
    evaluations = run.results.get("evaluations", {})
    for split, p in points.items():
        e = evaluations.get(split, {})
        roc.plot(p["fpr"], p["tpr"], label=f"{SPLIT_NAMES[split]} (AUC {_number(e.get('auc_roc'))})")
        pr.step(p["recall"], p["precision"], where="pre", label=f"{SPLIT_NAMES[split]} (AP {_number(e.get('auc_pr'))})")
    roc.plot([0, 1], [0, 1], color="#999999", linestyle=":")
    for axes, (x, y), title in ((roc, ("false positive rate", "true positive rate"), "ROC"),
                                (pr, ("recall", "precision"), "precision-recall")):
        axes.set_xlabel(x)
        axes.set_ylabel(y)
        axes.set_title(title)
        axes.set_xlim(-0.02, 1.02)
        axes.set_ylim(-0.02, 1.02)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small", loc="lower right" if axes is roc else "lower left")
    return figure


def image(figure: Any, format: str = "png") -> bytes:
    """``figure`` as ``png``, ``svg`` or ``pdf`` bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=format, dpi=110)
    return buffer.getvalue()


def _line(axes: Any, epochs: list[float], values: list[float], label: str) -> None:
    """Plot ``values`` against ``epochs`` where they are defined (no line when none is)."""
    pairs = [(e, v) for e, v in zip(epochs, values) if not math.isnan(v)]
    if pairs:
        axes.plot(*zip(*pairs), marker="." if len(pairs) < 40 else None, label=label)


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3g}"
