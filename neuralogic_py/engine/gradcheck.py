"""Gradient checks: the tape's vector-Jacobian products against central finite differences.

For a function F of some arrays with an array output, pick a fixed random cotangent
R of F's output shape and compare, for each checked argument x, the tape's
``backward(F, seed=R)`` with the central difference of ``<F(x), R>``::

    d<F, R>/dx_e  ~  (<F(x + h e), R> - <F(x - h e), R>) / (2h)

The error reported per argument is ``|analytic - numeric| / max(|analytic|, |numeric|)``
(Euclidean norms; 0 when both vanish). Central differences err by O(h^2) in
truncation and O(eps_machine / h) in rounding, about 1e-9 relative at h = 1e-6 for
smooth functions evaluated away from kinks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .tape import Tensor, backward, value_of, variable


def gradient_errors(fun: Callable[..., Tensor], *args: Any, argnums: Sequence[int] | None = None,
                    step: float = 1e-6, seed: int = 0) -> list[float]:
    """Relative error of the tape's gradient of ``fun`` for each argument in ``argnums``.

    ``fun`` must accept plain arrays as well as tensors in the checked positions (every
    op does). Arguments outside ``argnums`` pass through unchanged (indices, targets).
    """
    nums = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)] if argnums is None else list(argnums)
    boxed = [variable(a) if i in nums else a for i, a in enumerate(args)]
    out = fun(*boxed)
    cotangent = np.random.default_rng(seed).normal(size=np.shape(value_of(out)))
    analytic = backward(out, [boxed[i] for i in nums], seed=cotangent) if isinstance(out, Tensor) \
        else [np.zeros_like(args[i], dtype=np.float64) for i in nums]
    return [_relative_error(a, numerical_gradient(fun, args, i, cotangent, step)) for i, a in zip(nums, analytic)]


def numerical_gradient(fun: Callable[..., Any], args: Sequence[Any], argnum: int, cotangent: np.ndarray,
                       step: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of ``<fun(*args), cotangent>`` with respect to ``args[argnum]``."""
    x = np.array(args[argnum], dtype=np.float64)
    call_args = list(args)
    call_args[argnum] = x

    def objective() -> float:
        return float((np.asarray(value_of(fun(*call_args))) * cotangent).sum())

    result = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + step
        up = objective()
        x[index] = original - step
        down = objective()
        x[index] = original
        result[index] = (up - down) / (2.0 * step)
    return result


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(analytic - numeric) / scale)
