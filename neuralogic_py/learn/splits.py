"""Stratified splits of samples: k folds for cross-validation, and a validation hold-out.

Samples are stratified by class: the binary label for scalar targets (target above
the decision threshold of :mod:`.metrics`), the argmax for vector targets; targets
of a regression (``classes=None``) form one class. Each class is shuffled with the
seeded generator and dealt round-robin over the folds, as the reference's
``StratifiedSplitter`` does, so fold sizes differ by at most one per class and every
class's share is the same in every fold up to rounding. The dealing continues
across classes (the second class starts at the fold after the first one's last),
which keeps the fold sizes within one of each other overall.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import NeuralogicError
from .metrics import as_rows, binary_labels


def sample_classes(targets: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """One class id per sample: binary label, argmax of a vector target."""
    t = as_rows(targets)
    if len(t) == 0:
        return np.zeros(0, dtype=np.int64)
    return t.argmax(axis=1) if t.shape[1] > 1 else binary_labels(t).astype(np.int64)


def stratified_folds(classes: np.ndarray | None, k: int, rng: np.random.Generator,
                     count: int | None = None) -> list[np.ndarray]:
    """``k`` disjoint sorted index arrays covering every sample, stratified by ``classes``.

    ``classes=None`` (regression) shuffles ``count`` samples as one class.
    """
    if classes is None:
        if count is None:
            raise ValueError("stratified_folds needs classes or a count")
        classes = np.zeros(count, dtype=np.int64)
    n = len(classes)
    if k < 2:
        raise NeuralogicError(f"cross-validation needs at least 2 folds, got {k}")
    if k > n:
        raise NeuralogicError(f"{k}-fold cross-validation needs at least {k} samples, got {n}")
    fold_of = np.empty(n, dtype=np.int64)
    start = 0
    for c in np.unique(classes):
        members = rng.permutation(np.flatnonzero(classes == c))
        fold_of[members] = (start + np.arange(len(members))) % k
        start = (start + len(members)) % k
    return [np.flatnonzero(fold_of == f) for f in range(k)]


def stratified_holdout(classes: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split into (train, held out) with about ``fraction`` of each class held out.

    Per class, ``round(fraction * size)`` samples chosen at random are held out (at
    least one sample of the class stays for training).
    """
    if not 0 < fraction < 1:
        raise NeuralogicError(f"the validation fraction must lie strictly between 0 and 1, got {fraction}")
    held = []
    for c in np.unique(classes):
        members = rng.permutation(np.flatnonzero(classes == c))
        take = min(round(fraction * len(members)), len(members) - 1)
        held.append(members[:take])
    out = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    train = np.setdiff1d(np.arange(len(classes)), out)
    if len(out) == 0:
        raise NeuralogicError(f"a validation fraction of {fraction} holds out no sample of {len(classes)}",
                              hint="use a larger --val-fraction or more samples")
    return train, out
