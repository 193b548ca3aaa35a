"""Initial values of learnable weights declared by shape only (``{3,3}``, ``{1}``).

A weight written with a value (``0.5``, ``[1, 0]``) starts at that value; a fixed one
(``<...>``) never changes. Only ``{dims}`` weights are drawn, each with the shared,
seeded :class:`numpy.random.Generator`, in the order the parameter store lists them,
so a run is reproducible from its seed.

Fans follow the reference engine (language.md §7.2) on a value's 2-D shape
``(rows, cols)``: a scalar is ``(1, 1)``, a column vector ``{n}`` is ``(n, 1)``, a
row vector ``{1,n}`` is ``(1, n)``:

===========  ==============================================  ============================
name         distribution                                    reference counterpart
===========  ==============================================  ============================
uniform      U(-scale/2, scale/2), scale 2: U(-1, 1)         ``-dist uniform`` (default)
normal       N(0, std^2), std 1                              ``-dist normal`` (std 2 there)
glorot       U(-l, l), l = sqrt(6 / (rows + cols))           ``-init glorot``
he           U(-l, l), l = sqrt(6 / cols)                    ``-init he``
constant     every element = value, 0.1                      ``-dist constant``
===========  ==============================================  ============================

So glorot gives a scalar ``sqrt(3)`` and an n-vector ``sqrt(6 / (n + 1))``; he gives a
row vector ``{1,n}`` ``sqrt(6 / n)`` and a column vector or scalar ``sqrt(6)``, as the
reference does. Our ``normal`` defaults to unit variance (the reference scales its
normal draw by 2, a variance of 4, which saturates tanh units from the start).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import NeuralogicError

DEFAULT_INITIALIZER = "uniform"


class Initializer(Protocol):
    """Draws one weight of the given shape with ``rng``."""

    name: str

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray: ...


def value_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(rows, cols)`` of a weight: ``()`` is ``(1, 1)``, ``(n,)`` a column ``(n, 1)``."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], 1
    return shape[-2], shape[-1]


@dataclass(frozen=True)
class Uniform:
    """U(-scale/2, scale/2): the reference's ``(U[0,1) - 0.5) * scale`` with scale 2."""

    scale: float = 2.0
    name: str = "uniform"

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return (rng.random(shape) - 0.5) * self.scale


@dataclass(frozen=True)
class Normal:
    """N(mean, std^2) element-wise."""

    std: float = 1.0
    mean: float = 0.0
    name: str = "normal"

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return rng.normal(self.mean, self.std, shape)


@dataclass(frozen=True)
class Glorot:
    """Glorot (Xavier) uniform: U(-l, l) with l = sqrt(6 / (rows + cols))."""

    name: str = "glorot"

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        rows, cols = value_shape(shape)
        limit = math.sqrt(6.0 / (rows + cols))
        return rng.uniform(-limit, limit, shape)


@dataclass(frozen=True)
class He:
    """He (Kaiming) uniform on the input fan: U(-l, l) with l = sqrt(6 / cols)."""

    name: str = "he"

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        limit = math.sqrt(6.0 / value_shape(shape)[1])
        return rng.uniform(-limit, limit, shape)


@dataclass(frozen=True)
class Constant:
    """Every element equal to ``value`` (the reference's constantInitValue 0.1)."""

    value: float = 0.1
    name: str = "constant"

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return np.full(shape, self.value, dtype=np.float64)


INITIALIZERS: dict[str, type] = {"uniform": Uniform, "normal": Normal, "glorot": Glorot, "he": He,
                                 "constant": Constant}


def make_initializer(spec: str | Initializer) -> Initializer:
    """An initializer from its name (``"glorot"``) or as given."""
    if not isinstance(spec, str):
        return spec
    try:
        return INITIALIZERS[spec.lower()]()
    except KeyError:
        raise NeuralogicError(f"unknown initializer {spec!r}",
                              hint=f"choose one of {', '.join(INITIALIZERS)}") from None
