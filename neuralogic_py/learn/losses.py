"""Loss functions on a batch of sample outputs, and the reference's output-function inference.

A sample's output is one value ``(rows, cols)``; a batch is ``(n, rows, cols)`` with
the targets in the same shape. A :class:`Loss` maps them to one error per sample
(recorded on the engine's tape, so gradients flow) and, with :meth:`Loss.mean`, to
the batch error, the mean of the per-sample errors weighted by importance (the
reference's ``errorAggregationFcn AVG``). ``predictions`` turns outputs into what
metrics compare with the targets (probabilities for the losses on logits).

==========================  ==========================================================  ===================
name                        error per sample (o output, t target, e elements)           predictions
==========================  ==========================================================  ===================
``mse``                     (1/e) sum (o - t)^2                                         o
``crossentropy``            scalar: -log o if t > 0.5 else -log(1 - o); vector:         o
                            -sum t log o; 100 where a log is infinite
``bce_logits``              (1/e) sum max(z,0) - z t + log(1 + e^-|z|)  (z logits)      sigmoid(z)
``softmax_crossentropy``    -sum_i t_i log softmax(z)_i                                 softmax(z)
==========================  ==========================================================  ===================

Output inference (language.md §5.5) is **off by default**: the template's functions
are used as written and the loss is the one asked for (``mse`` unless chosen). The
reference's CLI infers them; :func:`infer_output` reproduces that when asked
(``loss="auto"``):

* classification (targets 0/1, or one-hot vectors), ``squish=True`` (the default):
  the output neuron's activation becomes identity and the loss is ``bce_logits``
  for scalar targets, ``softmax_crossentropy`` for vector targets; metrics see
  sigmoid / softmax of the output;
* classification, ``squish=False``: the loss is ``crossentropy`` on probabilities and
  the output activation becomes sigmoid (scalar) or softmax (vector) unless it is
  one of those already;
* regression (any other targets): ``mse``; a tanh or sigmoid output activation
  becomes identity, any other is kept.

The replaced activation is that of the query (output) atoms only, as in the
reference; inner neurons keep theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import ops
from ..engine.kernels import softmax, stable_sigmoid
from ..engine.tape import Tensor
from ..errors import NeuralogicError, ValidationError


class Loss:
    """A per-sample error on the engine's tape and the matching predictions."""

    name = "loss"

    def per_sample(self, outputs: Tensor | np.ndarray, targets: np.ndarray) -> Tensor:
        raise NotImplementedError

    def mean(self, outputs: Tensor | np.ndarray, targets: np.ndarray,
             weights: np.ndarray | None = None) -> Tensor:
        """The batch error: per-sample errors averaged, weighted by ``weights`` when given."""
        errors = self.per_sample(outputs, targets)
        if weights is None:
            return ops.mean_all(errors)
        w = np.asarray(weights, dtype=np.float64)
        return ops.sum_all(ops.multiply(errors, w / w.sum()))

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        """What the metrics compare with the targets."""
        return outputs

    def __repr__(self) -> str:
        return self.name


class MSE(Loss):
    name = "mse"

    def per_sample(self, outputs: Tensor | np.ndarray, targets: np.ndarray) -> Tensor:
        return ops.mse(outputs, targets)


class CrossEntropy(Loss):
    """The reference's CROSSENTROPY on probabilities (outputs in [0, 1])."""

    name = "crossentropy"

    def per_sample(self, outputs: Tensor | np.ndarray, targets: np.ndarray) -> Tensor:
        return ops.crossentropy(outputs, targets)


class BinaryCrossEntropyLogits(Loss):
    """Sigmoid + binary cross-entropy fused on logits (numerically stable)."""

    name = "bce_logits"

    def per_sample(self, outputs: Tensor | np.ndarray, targets: np.ndarray) -> Tensor:
        return ops.bce_logits(outputs, targets)

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        return stable_sigmoid(outputs)


class SoftmaxCrossEntropyLogits(Loss):
    """Softmax + cross-entropy fused on logits, over all elements of a sample's value."""

    name = "softmax_crossentropy"

    def per_sample(self, outputs: Tensor | np.ndarray, targets: np.ndarray) -> Tensor:
        return ops.softmax_ce_logits(outputs, targets)

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        return softmax(outputs)


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in
                                 (MSE, CrossEntropy, BinaryCrossEntropyLogits, SoftmaxCrossEntropyLogits)}
LOSS_CHOICES = (*LOSSES, "auto")


def make_loss(spec: str | Loss) -> Loss:
    """A loss from its name (see the module table) or as given; ``auto`` goes to :func:`infer_output`."""
    if isinstance(spec, Loss):
        return spec
    try:
        return LOSSES[spec.lower()]()
    except KeyError:
        raise NeuralogicError(f"unknown loss {spec!r}", hint=f"choose one of {', '.join(LOSS_CHOICES)}") from None


# -- output inference -----------------------------------------------------------------------

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class OutputSetup:
    """The loss to train with and the activation to put on the output atoms (None: keep the template's)."""

    loss: Loss
    output_activation: str | None = None
    task: str = "regression"


def is_classification(targets: Sequence[np.ndarray]) -> bool:
    """0/1 scalar targets, or vector targets that are one-hot (exactly one 1, the rest 0)."""
    if not targets:
        return False
    for t in targets:
        t = np.asarray(t)
        if not np.all((t == 0.0) | (t == 1.0)):
            return False
        if t.size > 1 and t.sum() != 1.0:
            return False
    return True


def infer_output(targets: Sequence[np.ndarray], output_activation: str | None, *, task: str | None = None,
                 squish: bool = True) -> OutputSetup:
    """The reference's choice of loss and output activation (module docstring, §5.5).

    ``task`` is ``classification`` or ``regression``; by default it is classification
    when :func:`is_classification` holds for the targets. ``output_activation`` is the
    output atoms' activation as the template sets it (None for the default tanh).
    """
    if task is None:
        task = "classification" if is_classification(targets) else "regression"
    elif task not in TASKS:
        raise NeuralogicError(f"unknown task {task!r}", hint=f"choose one of {', '.join(TASKS)}")
    current = output_activation or "tanh"
    vector = any(np.asarray(t).size > 1 for t in targets)
    if task == "regression":
        return OutputSetup(MSE(), "identity" if current in ("tanh", "sigmoid") else None, task)
    if squish:
        loss: Loss = SoftmaxCrossEntropyLogits() if vector else BinaryCrossEntropyLogits()
        return OutputSetup(loss, "identity", task)
    wanted = "softmax" if vector else "sigmoid"
    return OutputSetup(CrossEntropy(), None if current in ("sigmoid", "softmax") else wanted, task)


def resolve_loss(spec: str | Loss, targets: Sequence[np.ndarray], output_activation: Any = None, *,
                 task: str | None = None, squish: bool = True) -> OutputSetup:
    """``loss="auto"`` infers as the reference; any other name is used as given, functions unchanged."""
    if isinstance(spec, str) and spec.lower() == "auto":
        return infer_output(targets, output_activation, task=task, squish=squish)
    loss = make_loss(spec)
    if loss.name == SoftmaxCrossEntropyLogits.name and targets and all(np.asarray(t).size == 1 for t in targets):
        # the softmax of one logit is 1 whatever the logit: the error is 0 and nothing would be learnt
        raise ValidationError("softmax_crossentropy needs vector targets (one entry per class), but every target "
                              "is a scalar, on which it is 0 whatever the output",
                              hint="for scalar 0/1 targets use loss='bce_logits' (or 'auto')",
                              cli_hint="for scalar 0/1 targets use --loss bce_logits (or --loss auto)")
    return OutputSetup(loss, None, task or ("classification" if is_classification(targets) else "regression"))
