"""The training loop: mini-batches, shuffling, validation, early stopping, best-model restore.

One epoch (language.md §7.2) visits every training sample once, in mini-batches of
``batch_size`` samples: for each batch it computes the batch error
(:meth:`Loss.mean`) and its gradient and takes one optimizer step. ``batch_size=1``
is the reference's online training; ``batch_size=0`` (or any size >= the sample
count) is full-batch gradient descent. Shuffling with the seeded generator
(``shuffle``): ``batches`` (default) deals the samples once into fixed batches and
visits the batches in a new order every epoch (with batch size 1, a new sample order
every epoch, as the reference); ``samples`` reshuffles the samples into new batches
every epoch (a compiled plan per new batch, so slower); ``none`` keeps data order.

After every ``eval_every`` epochs (and after the last) the *selection set*, the
validation samples or the training samples when there are none, is evaluated with
the current weights in one batched forward pass. The weights with the lowest
selection error (``select="error"``, the reference's model selection) or the highest
accuracy (``select="accuracy"``, ties broken by error) are kept and, with
``restore_best`` (default), put back at the end. ``patience`` stops training after that
many evaluations without improvement (early stopping; off by default, as in the
reference).

A NaN or infinite error or gradient stops training with a :class:`TrainingError` that
names the epoch, the batch, and, as the network reports it, the first neuron group
(rule or predicate) whose value or gradient is not finite.

The network is anything with the :class:`TrainableNetwork` methods; parameters are a
dict ``name -> array`` of the learnable weights, updated in place. A network that
offers ``fused_trainer`` (:class:`~neuralogic_py.neural.compiled.CompiledNetwork`)
may take the whole optimizer step, with the same maths, in one compiled call; the
parameters are then brought up to date before every evaluation, every ``on_epoch``
call and at the end.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..errors import NeuralogicError
from ..progress import sized, stage
from .losses import Loss
from .metrics import Evaluation, evaluate
from .optimizers import Optimizer

SHUFFLES = ("batches", "samples", "none")
SELECTION_METRICS = ("accuracy", "auc_roc", "auc_pr")
"""The metrics each selection evaluation records beside its error (from the outputs it computes anyway)."""
LOG_SECONDS = 5.0  # without a terminal, by default, a progress line at most this often


class TrainingError(NeuralogicError):
    """Training cannot go on (a NaN or infinity), with where it arose."""


class TrainableNetwork(Protocol):
    """What training needs from a compiled network over a fixed list of samples."""

    def forward(self, params: Mapping[str, np.ndarray], samples: np.ndarray) -> np.ndarray:
        """Raw outputs ``(len(samples), rows, cols)`` of the given samples."""

    def value_and_grad(self, params: Mapping[str, np.ndarray], loss: Loss, targets: np.ndarray,
                       samples: np.ndarray, weights: np.ndarray | None) -> tuple[float, dict[str, np.ndarray]]:
        """The batch error of ``samples`` against ``targets`` and its gradient per learnable parameter."""

    def explain_nonfinite(self, params: Mapping[str, np.ndarray], samples: np.ndarray, loss: Loss,
                          targets: np.ndarray) -> str:
        """Where a value or gradient of these samples stops being finite (a neuron and its rule)."""


@dataclass
class TrainingConfig:
    """Settings of one training run (see the module docstring)."""

    epochs: int = 100
    batch_size: int = 1
    shuffle: str = "batches"
    eval_every: int = 1
    select: str = "error"
    restore_best: bool = True
    patience: int | None = None
    min_delta: float = 0.0
    progress: bool = False  # a bar on stderr
    log_every: int | float = 0  # without the bar: a line on stderr every this many epochs (0: none); a float
    # (LOG_SECONDS): a line after an epoch that ends at least that many seconds after the last line

    def __post_init__(self) -> None:
        if self.shuffle is True or self.shuffle is False:
            self.shuffle = "batches" if self.shuffle else "none"
        if self.epochs < 0:
            raise NeuralogicError(f"the number of epochs must not be negative, got {self.epochs}")
        if self.batch_size < 0:
            raise NeuralogicError(f"the batch size must not be negative, got {self.batch_size}")
        if self.eval_every < 1:
            raise NeuralogicError(f"eval_every must be at least 1, got {self.eval_every}")
        if self.shuffle not in SHUFFLES:
            raise NeuralogicError(f"unknown shuffling {self.shuffle!r}", hint=f"choose one of {', '.join(SHUFFLES)}")
        if self.select not in ("error", "accuracy"):
            raise NeuralogicError(f"unknown model selection {self.select!r}", hint="choose error or accuracy")
        if self.patience is not None and self.patience < 1:
            raise NeuralogicError(f"patience must be at least 1, got {self.patience}")


@dataclass
class History:
    """What happened in a run: errors per epoch, and which weights were kept."""

    train_error: list[float] = field(default_factory=list)  # mean batch error over each epoch
    selection_error: list[tuple[int, float]] = field(default_factory=list)  # (epoch, error) per evaluation
    learning_rate: list[float] = field(default_factory=list)
    best_epoch: int = 0  # epochs trained when the kept weights were current (0 = the initial weights)
    best_error: float = math.inf
    stopped_early: bool = False
    selection_set: str = "train"
    seconds: float = 0.0
    engine: str = "numpy"  # which engine took the optimizer steps (fused or numpy)
    # per evaluation, beside selection_error: the metrics of SELECTION_METRICS (NaN where one does not apply)
    selection_metrics: list[dict[str, float]] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)  # training time when each epoch ended

    @property
    def epochs(self) -> int:
        return len(self.train_error)

    def as_dict(self) -> dict:
        return {"epochs": self.epochs, "train_error": self.train_error,
                "selection_error": [list(e) for e in self.selection_error], "learning_rate": self.learning_rate,
                "best_epoch": self.best_epoch, "best_error": self.best_error, "stopped_early": self.stopped_early,
                "selection_set": self.selection_set, "seconds": self.seconds, "engine": self.engine,
                "selection_metrics": self.selection_metrics, "epoch_seconds": self.epoch_seconds}


@dataclass
class Scorer:
    """Evaluates a set of samples: forward pass, loss, metrics."""

    net: TrainableNetwork
    loss: Loss
    targets: np.ndarray
    classification: bool
    weights: np.ndarray | None = None

    def outputs(self, params: Mapping[str, np.ndarray], samples: np.ndarray) -> np.ndarray:
        return self.net.forward(params, samples)

    def error(self, params: Mapping[str, np.ndarray], samples: np.ndarray,
              outputs: np.ndarray | None = None) -> float:
        if len(samples) == 0:
            return math.nan
        out = self.outputs(params, samples) if outputs is None else outputs
        w = None if self.weights is None else self.weights[samples]
        return float(self.loss.mean(out, self.targets[samples], w).value)

    def evaluate(self, params: Mapping[str, np.ndarray], samples: np.ndarray) -> tuple[Evaluation, np.ndarray]:
        """Metrics of ``samples`` and their raw outputs."""
        out = self.outputs(params, samples)
        error = self.error(params, samples, out)
        return evaluate(self.targets[samples], self.loss.predictions(out), error, self.classification), out


def train(scorer: Scorer, params: dict[str, np.ndarray], optimizer: Optimizer, train_samples: np.ndarray,
          config: TrainingConfig, rng: np.random.Generator, validation: tuple[Scorer, np.ndarray] | None = None,
          on_epoch: Callable[[int, History], None] | None = None, *, resume: RunState | None = None,
          on_state: Callable[[RunState], None] | None = None) -> History:
    """Train ``params`` in place on ``train_samples`` of ``scorer``'s network (module docstring).

    ``validation`` is a scorer (possibly of another network) and its samples; without
    it the training samples are the selection set. Returns the history.

    ``on_state`` is called after every epoch with the run's :class:`RunState` (to write
    checkpoints); ``resume`` continues from one, with ``params`` and ``optimizer`` as
    they were then, exactly as the run would have gone on.
    """
    # non-finite values are checked explicitly and reported with their place: numpy's warnings would only repeat it
    with np.errstate(all="ignore"):
        return _train(scorer, params, optimizer, train_samples, config, rng, validation, on_epoch, resume, on_state)


@dataclass
class RunState:
    """A run after ``epochs`` epochs: with the weights and the optimizer's state, what it needs to go on.

    ``rng`` is the sample-order generator's state when the run started (the batches are
    dealt from it and the epochs done are replayed); ``best`` the kept weights so far.
    """

    epochs: int
    history: History
    best: _Best
    rng: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Plain data (lists and numbers) for a checkpoint file; :meth:`from_dict` reads it back."""
        b = self.best
        return {"epochs": self.epochs, "history": self.history.as_dict(), "rng": self.rng,
                "best": {"epoch": b.epoch, "error": b.error, "accuracy": b.accuracy, "stale": b.stale, "seen": b.seen,
                         "params": None if b.params is None else {k: v.tolist() for k, v in b.params.items()}}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], config: TrainingConfig) -> RunState:
        h = data["history"]
        history = History([float(e) for e in h["train_error"]], [(int(e), float(v)) for e, v in h["selection_error"]],
                          [float(r) for r in h["learning_rate"]], int(h["best_epoch"]), float(h["best_error"]),
                          bool(h["stopped_early"]), str(h["selection_set"]), float(h["seconds"]),
                          # (a checkpoint of an earlier version has neither: no metrics, no times)
                          selection_metrics=[{k: math.nan if v is None else float(v) for k, v in m.items()} for m in
                                             h.get("selection_metrics", [{}] * len(h["selection_error"]))],
                          epoch_seconds=[float(t) for t in h.get("epoch_seconds", [math.nan] * len(h["train_error"]))])
        b, best = data["best"], _Best(config)
        best.epoch, best.error, best.accuracy = int(b["epoch"]), float(b["error"]), float(b["accuracy"])
        best.stale, best.seen = int(b["stale"]), bool(b["seen"])
        best.params = None if b["params"] is None else \
            {k: np.array(v, dtype=np.float64) for k, v in b["params"].items()}
        return cls(int(data["epochs"]), history, best, data["rng"])


def _train(scorer: Scorer, params: dict[str, np.ndarray], optimizer: Optimizer, train_samples: np.ndarray,
           config: TrainingConfig, rng: np.random.Generator, validation: tuple[Scorer, np.ndarray] | None,
           on_epoch: Callable[[int, History], None] | None, resume: RunState | None = None,
           on_state: Callable[[RunState], None] | None = None) -> History:
    started = time.perf_counter() - (resume.history.seconds if resume else 0.0)
    net = scorer.net
    train_samples = np.asarray(train_samples, dtype=np.int64)
    if len(train_samples) == 0:
        raise NeuralogicError("no training samples")
    if resume is not None:
        rng.bit_generator.state = resume.rng
        history, best, first = resume.history, resume.best, resume.epochs
        selector, selection = validation if history.selection_set == "validation" else (scorer, train_samples)
    else:
        first = 0
        if validation is not None and len(validation[1]):
            history, (selector, selection) = History(selection_set="validation"), validation
        else:
            history, selector, selection = History(selection_set="train"), scorer, train_samples
        best = _Best(config)
        error, accuracy, metrics = _selection_score(selector, params, selection, config)
        best.offer(0, params, error, accuracy)
        history.selection_error.append((0, best.error))
        history.selection_metrics.append(metrics)
    state = RunState(first, history, best, copy.deepcopy(rng.bit_generator.state))
    batches = _Batches(train_samples, config, rng)
    for _ in range(first):  # the sample order of the epochs done
        batches.epoch()
    last = first if history.stopped_early else config.epochs
    fused = _fused(scorer, params, optimizer, config, batches)
    history.engine = "numpy" if fused is None else "fused"
    sizes = batches.epoch_sizes()
    stage("training", f"{sized(last - first, 'epoch')} of {sized(len(train_samples), 'sample')} in "
                      f"{sized(len(sizes), 'batch', 'batches')}" + (f" of {sizes[0]}" if len(sizes) > 1 else ""))
    progress = _Progress(config, first, last, len(sizes), started)
    for epoch in range(first, last):
        optimizer.start_epoch(epoch)
        total, seen = 0.0, 0
        for b, batch in enumerate(batches.epoch()):
            error = fused.step(batch) if fused is not None else None
            if error is None:
                if fused is not None:
                    fused.sync(moments=True)
                weights = None if scorer.weights is None else scorer.weights[batch]
                error, grads = net.value_and_grad(params, scorer.loss, scorer.targets[batch], batch, weights)
                if not (math.isfinite(error) and all(np.isfinite(g).all() for g in grads.values())):
                    raise _nonfinite(net, params, batch, scorer, epoch, b, error, grads)
                optimizer.step(params, grads)
                if fused is not None:  # the engines disagree at the edge of overflow: go on from numpy's step
                    fused.reload()
            total += error * len(batch)
            seen += len(batch)
            if progress.bar is not None:
                progress.batch(total, seen)
        if fused is not None:
            fused.sync()
        history.train_error.append(total / len(train_samples))
        history.learning_rate.append(optimizer.lr)
        done = epoch + 1
        if done % config.eval_every == 0 or done == config.epochs:
            error, accuracy, metrics = _selection_score(selector, params, selection, config)
            history.selection_error.append((done, error))
            history.selection_metrics.append(metrics)
            improved = best.offer(done, params, error, accuracy)
            if not improved and config.patience is not None and best.stale >= config.patience:
                history.stopped_early = True
        progress.epoch(done, history, best.error)
        history.epoch_seconds.append(time.perf_counter() - started)
        if on_state is not None:
            if fused is not None:
                fused.sync(moments=True)
            state.epochs, history.seconds = done, history.epoch_seconds[-1]
            on_state(state)
        if history.stopped_early:
            break
        if on_epoch is not None:
            on_epoch(done, history)
    progress.close()
    if fused is not None:
        fused.sync(moments=True)
    history.best_epoch, history.best_error = best.epoch, best.error
    if config.restore_best and best.params is not None:
        for name, value in best.params.items():
            params[name][...] = value
    history.seconds = time.perf_counter() - started
    return history


class _Progress:
    """What a run shows while it trains (``config.progress``, ``config.log_every``).

    On a terminal, a bar advancing with the batches, its postfix the running mean loss of
    the epoch's samples so far (after an epoch, its train error and the selection error kept
    so far). It is redrawn at most every :data:`REFRESH_SECONDS`, however short the batches
    and epochs: in between, a batch costs a count and a comparison (the clock is read a few
    dozen times a second), an epoch a clock reading, nothing next to a step. Otherwise (a pipe, a log file), a plain line every ``log_every``
    epochs: epochs done, train error, the selection error kept so far, time.
    """

    REFRESH_SECONDS = 0.25

    def __init__(self, config: TrainingConfig, first: int, last: int, per_epoch: int, started: float) -> None:
        self.total, self.per_epoch, self.started = last, per_epoch, started
        self.log_every = config.log_every
        self.bar = None
        if config.progress:
            from tqdm.auto import tqdm

            # redrawn when _show says so, never by tqdm's own clock
            self.bar = tqdm(total=(last - first) * per_epoch, desc=f"epoch {first + 1}/{last}", unit="batch",
                            leave=False, mininterval=0, miniters=0)
        self.pending = 0  # batches done since the last redraw
        self.stride = 1
        self.current = first + 1  # the epoch under way
        self.shown = time.perf_counter()
        self.last_line = started

    def batch(self, error: float, samples: int) -> None:
        """Called after each batch (when there is a bar) with the epoch's summed error and its samples so far.

        The clock is read every ``stride`` batches, some 16 times per redraw at the pace of the last one.
        """
        self.pending += 1
        if self.pending % self.stride:
            return
        now = time.perf_counter()
        if now - self.shown >= self.REFRESH_SECONDS:
            self.stride = max(1, self.pending // 16)
            self._show(now, f"loss {error / samples:.4g}")

    def epoch(self, done: int, history: History, selected: float) -> None:
        """Called after each epoch."""
        if self.bar is not None:
            self.current = min(done + 1, self.total)
            now = time.perf_counter()
            if now - self.shown >= self.REFRESH_SECONDS or done == self.total:
                self._show(now, f"error {history.train_error[-1]:.4g}, selected {selected:.4g}")
        elif self._due(done):
            self.last_line = time.perf_counter()
            print(f"epoch {done}/{self.total}: train error {history.train_error[-1]:.4g}, lowest "
                  f"{history.selection_set} error {selected:.4g}, {time.perf_counter() - self.started:.1f} s",
                  file=sys.stderr, flush=True)

    def _show(self, now: float, postfix: str) -> None:
        """Redraw the bar: the epoch under way, the batches done since the last redraw, and ``postfix``."""
        self.shown = now
        self.bar.set_description_str(f"epoch {self.current}/{self.total}", refresh=False)
        self.bar.set_postfix_str(postfix, refresh=False)
        self.bar.update(self.pending)
        self.pending = 0

    def _due(self, done: int) -> bool:
        if isinstance(self.log_every, float):  # by time: the run's lines are few, and short runs print none
            now = time.perf_counter()
            return now - self.last_line >= self.log_every or (done == self.total and self.last_line > self.started)
        return bool(self.log_every) and (done % self.log_every == 0 or done == self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _fused(scorer: Scorer, params: dict[str, np.ndarray], optimizer: Optimizer, config: TrainingConfig,
           batches: _Batches) -> Any:
    """The network's fused trainer for this run, or None (then every step runs on the numpy engine).

    The network may time both engines on a few batches of the training's size (``probe``).
    """
    make = getattr(scorer.net, "fused_trainer", None)
    if make is None:
        return None
    per_epoch = len(batches.epoch_sizes())
    probe = [batches.samples[i:i + batches.size] for i in range(0, len(batches.samples), batches.size)]
    return make(params, optimizer, scorer.loss, scorer.targets, scorer.weights, per_epoch * config.epochs,
                config.epochs, probe, config.shuffle == "samples")


class _Batches:
    """The mini-batches of each epoch, by the configured shuffling.

    ``samples``: a new order every epoch, cut into batches. ``batches``: the samples are
    shuffled once into fixed batches, and the order of the batches is shuffled every
    epoch (with batch size 1 the same as ``samples``); a network compiles a plan once
    per distinct batch, so fixed batches are compiled once. ``none``: data order.
    """

    def __init__(self, samples: np.ndarray, config: TrainingConfig, rng: np.random.Generator) -> None:
        self.rng = rng
        self.mode = config.shuffle
        self.samples = samples.copy()
        self.size = len(samples) if config.batch_size == 0 else min(config.batch_size, len(samples))
        if self.mode == "batches":
            order = rng.permutation(self.samples)
            self.fixed = [order[i:i + self.size] for i in range(0, len(order), self.size)]

    def epoch_sizes(self) -> list[int]:
        """The sizes of an epoch's batches."""
        return [min(self.size, len(self.samples) - i) for i in range(0, len(self.samples), self.size)]

    def epoch(self) -> list[np.ndarray]:
        if self.mode == "batches":
            return [self.fixed[i] for i in self.rng.permutation(len(self.fixed))]
        if self.mode == "samples":
            self.rng.shuffle(self.samples)
        return [self.samples[i:i + self.size] for i in range(0, len(self.samples), self.size)]


class _Best:
    """The best weights seen so far by the configured selection rule, and evaluations since."""

    def __init__(self, config: TrainingConfig) -> None:
        self.config = config
        self.epoch = 0
        self.error = math.inf
        self.accuracy = -math.inf
        self.params: dict[str, np.ndarray] | None = None
        self.stale = 0
        self.seen = False

    def offer(self, epoch: int, params: Mapping[str, np.ndarray], error: float, accuracy: float) -> bool:
        if self.config.select == "accuracy":
            better = accuracy > self.accuracy or (accuracy == self.accuracy and error < self.error - self.config.min_delta)
        else:
            better = error < self.error - self.config.min_delta
        if better or not self.seen:
            self.seen = True
            self.epoch, self.error, self.accuracy = epoch, error, accuracy
            self.params = {name: value.copy() for name, value in params.items()} if self.config.restore_best \
                else None
            self.stale = 0
            return True
        self.stale += 1
        return False


def _selection_score(scorer: Scorer, params: Mapping[str, np.ndarray], samples: np.ndarray,
                     config: TrainingConfig) -> tuple[float, float, dict[str, float]]:
    """The selection set's error and (``select="accuracy"``) accuracy, and its :data:`SELECTION_METRICS`, all
    from one forward pass."""
    evaluation, _ = scorer.evaluate(params, samples)
    metrics = {name: float(getattr(evaluation, name)) for name in SELECTION_METRICS}
    if config.select == "accuracy":
        return evaluation.error, evaluation.accuracy, metrics
    error = evaluation.error
    return (error if math.isfinite(error) else math.inf), math.nan, metrics


def _nonfinite(net: TrainableNetwork, params: Mapping[str, np.ndarray], batch: np.ndarray, scorer: Scorer,
               epoch: int, b: int, error: float, grads: Mapping[str, np.ndarray]) -> TrainingError:
    bad = sorted(name for name, g in grads.items() if not np.isfinite(g).all())
    what = f"the error is {error}" if not math.isfinite(error) else f"the gradient of {', '.join(bad)} is not finite"
    where = net.explain_nonfinite(params, batch, scorer.loss, scorer.targets[batch])
    return TrainingError(f"training stopped in epoch {epoch + 1}, batch {b + 1}: {what}; {where}",
                         hint="lower the learning rate, clip gradients (--clip-norm), or check activations such as "
                              "log, sqrt and inverse on inputs outside their domain")
