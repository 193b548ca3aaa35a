"""Gradient-descent optimizers over named parameters, and learning-rate schedules.

An optimizer updates ``params[name]`` **in place** (so every holder of the array sees
the new value) for each ``name`` in ``grads``, the gradient of the loss to minimise.
Parameters without a gradient, the fixed ones (``<...>``), are left alone.

With ``g`` the gradient, ``w`` the weight and ``lr`` the current learning rate
(language.md §7.2; the reference writes the same updates with the descent direction
``-g`` and adds)::

    SGD     w <- w - lr * g                                    (momentum 0, the reference)
            with momentum mu: v <- mu v + g;  w <- w - lr * v
    Adam    m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
            w <- w - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

``t`` counts updates from 1 over the whole run (one counter, not one per parameter),
as the reference does. Weight decay ``wd`` is L2 regularisation added to the
gradient, ``g <- g + wd w`` (``decoupled=True`` makes Adam's AdamW:
``w <- w - lr wd w`` beside the Adam step). ``clip_norm`` rescales the whole
gradient to that Euclidean norm when it is longer.

Defaults are the reference's: Adam lr 0.001, b1 0.9, b2 0.999, eps 1e-8; SGD lr 0.1
(its value when ``-opt sgd`` is given).

Schedules give the learning rate of epoch ``e`` (counted from 0) from the base rate:
:class:`GeometricDecay` ``lr0 * rate ** (e // every)`` (the reference's ``-decay 0.95
-decays 100``), :class:`ArithmeticDecay` ``lr0 * (1 - e / epochs)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import NeuralogicError

# -- learning-rate schedules ----------------------------------------------------------------


class Schedule(Protocol):
    def __call__(self, base_lr: float, epoch: int) -> float: ...


@dataclass(frozen=True)
class ConstantRate:
    """The base rate in every epoch."""

    def __call__(self, base_lr: float, epoch: int) -> float:
        return base_lr


@dataclass(frozen=True)
class GeometricDecay:
    """``lr0 * rate ** (epoch // every)``: multiply by ``rate`` every ``every`` epochs."""

    rate: float = 0.95
    every: int = 100

    def __post_init__(self) -> None:
        if not 0 < self.rate <= 1 or self.every < 1:
            raise NeuralogicError(f"geometric decay needs 0 < rate <= 1 and every >= 1, got rate {self.rate}, "
                                  f"every {self.every}")

    def __call__(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.rate ** (epoch // self.every)


@dataclass(frozen=True)
class ArithmeticDecay:
    """``lr0 * (1 - epoch / epochs)``: linear from ``lr0`` in epoch 0 to ``lr0 / epochs`` in the last."""

    epochs: int

    def __call__(self, base_lr: float, epoch: int) -> float:
        return base_lr * max(0.0, 1.0 - epoch / self.epochs)


# -- optimizers -----------------------------------------------------------------------------


class Optimizer:
    """Base: learning rate and its schedule, weight decay, clipping; subclasses implement ``_update``."""

    name = "optimizer"

    def __init__(self, lr: float, weight_decay: float = 0.0, schedule: Schedule | None = None,
                 clip_norm: float | None = None) -> None:
        if lr <= 0 or not math.isfinite(lr):
            raise NeuralogicError(f"the learning rate must be a positive number, got {lr}")
        if weight_decay < 0:
            raise NeuralogicError(f"weight decay must not be negative, got {weight_decay}")
        self.base_lr = lr
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule or ConstantRate()
        self.clip_norm = clip_norm
        self.steps = 0

    def start_epoch(self, epoch: int) -> None:
        """Set the learning rate of ``epoch`` (from 0) by the schedule."""
        self.lr = self.schedule(self.base_lr, epoch)

    def reset(self) -> None:
        """Forget all state (moments, step count): a restart from fresh weights."""
        self.steps = 0
        self.lr = self.base_lr

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """One update of every parameter that has a gradient."""
        self.steps += 1
        scale = self._clip_scale(grads)
        for name, g in grads.items():
            w = params[name]
            if scale != 1.0:
                g = g * scale
            if self.weight_decay and not self._decoupled_decay:
                g = g + self.weight_decay * w
            self._update(name, w, g)

    _decoupled_decay = False

    def _clip_scale(self, grads: Mapping[str, np.ndarray]) -> float:
        if self.clip_norm is None:
            return 1.0
        norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
        return self.clip_norm / norm if norm > self.clip_norm else 1.0

    def _update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    _state: tuple[str, ...] = ()  # the attributes holding per-parameter state (name -> array)

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs to go on as if it had not stopped: step count, learning rate, moments.

        ``{"optimizer": name, "steps": int, "lr": float, "moments": {kind: {parameter: array}}}``
        (copies); :meth:`load_state_dict` puts it back.
        """
        return {"optimizer": self.name, "steps": self.steps, "lr": self.lr,
                "moments": {kind.lstrip("_"): {name: a.copy() for name, a in getattr(self, kind).items()}
                            for kind in self._state}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of an optimizer of the same kind."""
        if state.get("optimizer") != self.name:
            raise NeuralogicError(f"the saved optimizer state is {state.get('optimizer')}'s, not {self.name}'s")
        self.steps, self.lr = int(state["steps"]), float(state["lr"])
        for kind in self._state:
            moments = getattr(self, kind)
            moments.clear()
            saved = state["moments"][kind.lstrip("_")]
            moments.update({name: np.array(a, dtype=np.float64) for name, a in saved.items()})

    def fused_rule(self) -> tuple[str, np.ndarray] | None:
        """This update for the fused engine: ``(kind, (lr, beta1 or momentum, beta2, eps, weight decay,
        decoupled, clip norm or -1))``, or None when only :meth:`step` implements it."""
        return None

    def moments(self) -> tuple[dict[str, np.ndarray], ...]:
        """The per-parameter state by name (first and second moments), which the fused engine carries flat."""
        return tuple(getattr(self, kind) for kind in self._state)

    def _hyper(self, first: float, second: float, eps: float) -> np.ndarray:
        return np.array([self.lr, first, second, eps, self.weight_decay, float(self._decoupled_decay),
                         -1.0 if self.clip_norm is None else self.clip_norm])

    def describe(self) -> str:
        extras = [f"weight decay {self.weight_decay:g}"] if self.weight_decay else []
        if not isinstance(self.schedule, ConstantRate):
            extras.append(f"schedule {self.schedule}")
        return f"{self.name} lr {self.base_lr:g}" + "".join(f", {e}" for e in extras)


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (heavy-ball) momentum."""

    name = "sgd"
    _state = ("_velocity",)

    def __init__(self, lr: float = 0.1, momentum: float = 0.0, weight_decay: float = 0.0,
                 schedule: Schedule | None = None, clip_norm: float | None = None) -> None:
        super().__init__(lr, weight_decay, schedule, clip_norm)
        self.momentum = momentum
        self._velocity: dict[str, np.ndarray] = {}

    def reset(self) -> None:
        super().reset()
        self._velocity.clear()

    def fused_rule(self) -> tuple[str, np.ndarray] | None:
        return ("sgd", self._hyper(self.momentum, 0.0, 0.0)) if type(self) is SGD else None

    def _update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        if self.momentum:
            v = self._velocity.get(name)
            v = g.copy() if v is None else np.add(self.momentum * v, g, out=v)
            self._velocity[name] = v
            g = v
        w -= self.lr * g


class Adam(Optimizer):
    """Adam with bias correction and one global step counter (the reference's)."""

    name = "adam"
    _state = ("_m", "_v")

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled: bool = False, schedule: Schedule | None = None,
                 clip_norm: float | None = None) -> None:
        super().__init__(lr, weight_decay, schedule, clip_norm)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self._decoupled_decay = decoupled
        self._m: dict[str, np.ndarray] = {}
        self._v: dict[str, np.ndarray] = {}

    def reset(self) -> None:
        super().reset()
        self._m.clear()
        self._v.clear()

    def fused_rule(self) -> tuple[str, np.ndarray] | None:
        return ("adam", self._hyper(self.beta1, self.beta2, self.eps)) if type(self) is Adam else None

    def _update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        if name not in self._m:  # (setdefault would allocate two arrays on every step)
            self._m[name], self._v[name] = np.zeros_like(w), np.zeros_like(w)
        m, v = self._m[name], self._v[name]
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * (g * g)
        m_hat = m / (1.0 - self.beta1 ** self.steps)
        v_hat = v / (1.0 - self.beta2 ** self.steps)
        if self._decoupled_decay and self.weight_decay:
            w -= self.lr * self.weight_decay * w
        w -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS: dict[str, type[Optimizer]] = {"adam": Adam, "sgd": SGD}


def make_optimizer(name: str, lr: float | None = None, **options) -> Optimizer:
    """An optimizer by name with its default learning rate unless ``lr`` is given."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except KeyError:
        raise NeuralogicError(f"unknown optimizer {name!r}", hint=f"choose one of {', '.join(OPTIMIZERS)}") from None
    return cls(**options) if lr is None else cls(lr=lr, **options)
