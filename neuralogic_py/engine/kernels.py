"""Numpy kernels behind the op table: forward maths and the longer derivatives.

Each function works on raw float64 arrays under the engine's shape convention: a
value is the last two axes ``(rows, cols)``; a batch adds a leading axis ``n``; a
2-D array is one value shared by the whole batch (a weight, an offset). Functions
"per value" reduce over the last two axes only, so they serve 2-D and 3-D arrays
alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..language.functions import DEFAULT_SLOPE as LEAKY_SLOPE  # plain leakyrelu's slope

SATURATION = 100.0  # the reference clamps sigmoid-like activations beyond +-100
NORM_EPSILON = 1e-10
MISSING_LOG = 100.0  # the reference's cross-entropy value where the log would be infinite


# -- broadcasting ---------------------------------------------------------------------------

def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` down to ``shape``, undoing numpy broadcasting (e.g. a weight shared by a batch)."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def is_scalar_value(x: np.ndarray) -> bool:
    return x.shape[-2:] == (1, 1)


def check_same_value_shapes(xs: Sequence[np.ndarray]) -> None:
    """Element-wise combinations accept equal value shapes, a scalar broadcasting over any."""
    shapes = {x.shape[-2:] for x in xs if not is_scalar_value(x)}
    if len(shapes) > 1:
        raise ValueError(f"element-wise combination of values with different shapes {sorted(shapes)}")


def flat_values(x: np.ndarray) -> np.ndarray:
    """Each value's elements in row-major order along the last axis: (..., rows*cols)."""
    return x.reshape(*x.shape[:-2], -1)


def per_value_sum(x: np.ndarray) -> np.ndarray:
    """The sum of each value's elements, shaped to broadcast back over the value."""
    return x.sum(axis=(-2, -1), keepdims=True)


def per_value_mean(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=(-2, -1), keepdims=True)


def batched(x: np.ndarray) -> np.ndarray:
    return x if x.ndim == 3 else x[None]


def rows_of(g: np.ndarray, xs: Sequence[np.ndarray], argnum: int) -> np.ndarray:
    """The rows of ``g`` that came from ``xs[argnum]`` when ``xs`` were stacked along axis 0."""
    start = sum(len(x) for x in xs[:argnum])
    return g[start:start + len(xs[argnum])]


# -- matrix products ------------------------------------------------------------------------

def swap(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` per batch item; a shared 2-D factor becomes one large GEMM instead of n small ones."""
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"no matrix product of values shaped {a.shape[-2:]} and {b.shape[-2:]}")
    if a.ndim == 2 and b.ndim == 3:
        n, c, k = b.shape
        return (swap(b).reshape(n * k, c) @ a.T).reshape(n, k, -1).transpose(0, 2, 1)
    if a.ndim == 3 and b.ndim == 2:
        n, r, c = a.shape
        return (a.reshape(n * r, c) @ b).reshape(n, r, -1)
    return np.matmul(a, b)


def matmul_grad_left(g: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.ndim == 2 and b.ndim == 3:  # shared weight: sum_n g_n b_n^T in one contraction
        return np.tensordot(g, b, axes=([0, 2], [0, 2]))
    return unbroadcast(matmul(g, swap(b)), a.shape)


def matmul_grad_right(g: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if b.ndim == 2 and a.ndim == 3:
        return np.tensordot(a, g, axes=([0, 1], [0, 1]))
    return unbroadcast(matmul(swap(a), g), b.shape)


def placed(g: np.ndarray, shape: tuple[int, ...], rows: slice, cols: slice) -> np.ndarray:
    """Zeros of ``shape`` with ``g`` in the block ``[..., rows, cols]`` (the gradient of a slice)."""
    out = np.zeros(shape)
    out[..., rows, cols] = g
    return out


# -- element-wise activations ---------------------------------------------------------------

def saturating_logistic(x: np.ndarray, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
    """``1/(1+e^-(scale x + shift))``, but exactly 1 where ``x > 100`` and 0 where ``x < -100``
    (the reference's clamp, on the input x)."""
    clamped = np.minimum(np.maximum(x, -SATURATION), SATURATION)  # np.clip costs 2x more on small arrays
    inside = 1.0 / (1.0 + np.exp(-(scale * clamped + shift)))
    return np.where(x < -SATURATION, 0.0, np.where(x > SATURATION, 1.0, inside))


def unsaturated(x: np.ndarray) -> np.ndarray:
    return np.abs(x) <= SATURATION


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function without overflow for any z (used on logits, no clamping)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# -- per-value joint functions --------------------------------------------------------------

def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over all elements of each value, shifted by the value's max for stability."""
    flat = flat_values(x)
    e = np.exp(flat - flat.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).reshape(x.shape)


def softmax_vjp(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    """J^T g for y = softmax(x): ``y * (g - <g, y>)`` per value."""
    return y * (g - per_value_sum(g * y))


def sparsemax(x: np.ndarray) -> np.ndarray:
    """Euclidean projection of each value (all its elements) onto the probability simplex.

    With z sorted descending, the support size is ``k = max{k : 1 + k z_(k) > sum_{j<=k} z_(j)}``,
    the threshold ``tau = (sum_{j<=k} z_(j) - 1) / k`` and the result ``max(z - tau, 0)``.
    """
    flat = flat_values(x)
    descending = -np.sort(-flat, axis=-1)
    cumulative = np.cumsum(descending, axis=-1)
    ranks = np.arange(1, flat.shape[-1] + 1)
    support = (1.0 + ranks * descending > cumulative).sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, support - 1, axis=-1) - 1.0) / support
    return np.maximum(flat - tau, 0.0).reshape(x.shape)


def sparsemax_vjp(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    """J^T g for y = sparsemax(x): on the support S, ``g - mean_S(g)``; 0 off it."""
    on = (y > 0).astype(np.float64)
    mean_on = per_value_sum(g * on) / per_value_sum(on)
    return on * (g - mean_on)


def norm_scale(x: np.ndarray) -> np.ndarray:
    """``sqrt(var + 1e-10)`` of each value's elements (population variance)."""
    return np.sqrt(x.var(axis=(-2, -1), keepdims=True) + NORM_EPSILON)


def norm(x: np.ndarray) -> np.ndarray:
    """Layer normalisation without gain or bias: ``(x - mean) / sqrt(var + 1e-10)`` per value."""
    return (x - per_value_mean(x)) / norm_scale(x)


def norm_vjp(g: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """J^T g for y = norm(x): ``(g - mean(g) - y * mean(g*y)) / sqrt(var + eps)`` per value."""
    return (g - per_value_mean(g) - y * per_value_mean(g * y)) / norm_scale(x)


# -- combinations over a list of inputs -----------------------------------------------------

def first_extreme_mask(xs: Sequence[np.ndarray], out: np.ndarray, argnum: int) -> np.ndarray:
    """Where input ``argnum`` is the first input (in list order) equal to the element-wise max/min."""
    taken = np.zeros(out.shape, dtype=bool)
    for x in xs[:argnum]:
        taken |= x == out
    return (~taken & (xs[argnum] == out)).astype(np.float64)


def product_of_others(xs: Sequence[np.ndarray], argnum: int, like: np.ndarray) -> np.ndarray:
    """Element-wise product of every input but ``argnum``, broadcast to ``like``'s shape."""
    out = np.ones_like(like)
    for i, x in enumerate(xs):
        if i != argnum:
            out = out * x
    return out


def crosssum_axes(xs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Input i flattened to (batch, 1, ..., d_i, ..., 1): summing these broadcasts every index combination."""
    m = len(xs)
    return [flat_values(batched(x)).reshape(-1, *([1] * i), x.shape[-2] * x.shape[-1], *([1] * (m - 1 - i)))
            for i, x in enumerate(xs)]


def crosssum(*xs: np.ndarray) -> np.ndarray:
    """Column vector of ``x1[i1] + x2[i2] + ...`` over all index tuples, the first input varying slowest."""
    total = sum(crosssum_axes(xs))
    out = total.reshape(total.shape[0], -1, 1)
    return out if any(x.ndim == 3 for x in xs) else out[0]


def crosssum_vjp(argnum: int, g: np.ndarray, xs: Sequence[np.ndarray]) -> np.ndarray:
    sizes = [x.shape[-2] * x.shape[-1] for x in xs]
    grid = batched(g).reshape(-1, *sizes)
    others = tuple(axis + 1 for axis in range(len(xs)) if axis != argnum)
    return unbroadcast(grid.sum(axis=others).reshape(-1, *xs[argnum].shape[-2:]), xs[argnum].shape)


def batch_size(xs: Sequence[np.ndarray]) -> int | None:
    """The common batch size of the 3-D inputs, None when all are shared 2-D values."""
    sizes = {x.shape[0] for x in xs if x.ndim == 3 and x.shape[0] != 1}
    if len(sizes) > 1:
        raise ValueError(f"inputs with different batch sizes {sorted(sizes)}")
    if sizes:
        return sizes.pop()
    return 1 if any(x.ndim == 3 for x in xs) else None


def concat(*xs: np.ndarray) -> np.ndarray:
    """All elements of all inputs, row-major and in input order, as one column vector per batch item."""
    n = batch_size(xs)
    parts = [np.broadcast_to(flat_values(batched(x)), (n or 1, x.shape[-2] * x.shape[-1])) for x in xs]
    out = np.concatenate(parts, axis=1)[:, :, None]
    return out if n is not None else out[0]


def concat_vjp(argnum: int, g: np.ndarray, xs: Sequence[np.ndarray]) -> np.ndarray:
    sizes = [x.shape[-2] * x.shape[-1] for x in xs]
    start = sum(sizes[:argnum])
    piece = batched(g)[:, start:start + sizes[argnum], 0]
    return unbroadcast(piece.reshape(-1, *xs[argnum].shape[-2:]), xs[argnum].shape)


def cossim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``<a, b> / (|a| |b|)`` over all elements of each value: a scalar value."""
    a, b = flat_values(a), flat_values(b)
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return cos[..., None, None]


def cossim_vjp(argnum: int, g: np.ndarray, ans: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """d cos / d a = b / (|a||b|) - cos * a / |a|^2 (and symmetrically for b)."""
    this, other = (a, b) if argnum == 0 else (b, a)
    len_this, len_other = np.sqrt(per_value_sum(this * this)), np.sqrt(per_value_sum(other * other))
    local = other / (len_this * len_other) - ans * this / len_this ** 2
    return unbroadcast(g * local, this.shape)


# -- losses (per sample; a sample's output is one value) ------------------------------------

def mse(o: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Mean over a value's elements of ``(o - t)^2``."""
    return ((o - t) ** 2).mean(axis=(-2, -1))


def bce_logits(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Binary cross-entropy of ``sigmoid(z)`` against ``t``, stable form ``max(z,0) - z t + log(1+e^-|z|)``,
    averaged over a value's elements."""
    return (np.maximum(z, 0.0) - z * t + np.log1p(np.exp(-np.abs(z)))).mean(axis=(-2, -1))


def softmax_ce_logits(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``-sum_i t_i log softmax(z)_i`` over a value's elements (log-sum-exp shifted by the max)."""
    flat, target = flat_values(z), flat_values(t)
    shift = flat.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(flat - shift).sum(axis=-1, keepdims=True)) + shift
    return -(target * (flat - log_norm)).sum(axis=-1)


def crossentropy(o: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The reference's CROSSENTROPY on probabilities.

    One-element values: ``-log o`` when ``t > 0.5`` else ``-log(1 - o)``; larger values:
    ``-sum_i t_i log o_i``. Where a log would be infinite it counts as 100.
    """
    if is_scalar_value(o):
        p = np.where(t > 0.5, o, 1.0 - o)
        return safe_neg_log(p)[..., 0, 0]
    return (t * safe_neg_log(o)).sum(axis=(-2, -1))


def safe_neg_log(p: np.ndarray) -> np.ndarray:
    return np.where(p > 0, -np.log(np.where(p > 0, p, 1.0)), MISSING_LOG)


def crossentropy_vjp(g: np.ndarray, o: np.ndarray, t: np.ndarray) -> np.ndarray:
    """d/do of :func:`crossentropy`; 0 where the value was capped."""
    inverse = lambda p: np.where(p > 0, 1.0 / np.where(p > 0, p, 1.0), 0.0)  # noqa: E731
    if is_scalar_value(o):
        local = np.where(t > 0.5, -inverse(o), inverse(1.0 - o))
    else:
        local = -t * inverse(o)
    return per_sample(g) * local


def per_sample(g: np.ndarray) -> np.ndarray:
    """A per-sample gradient (n,) as (n, 1, 1), to scale each sample's value."""
    return g[..., None, None]
