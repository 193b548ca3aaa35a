"""The op table: every primitive with its forward map and vector-Jacobian product side by side.

Each entry is ``defop(name, forward, vjp_arg0, vjp_arg1, ...)``; a VJP receives the
output gradient ``g``, the forward result ``ans`` and the forward arguments, and
returns the gradient for its argument (same shape). ``defop_argnum`` entries take
any number of inputs and one VJP that is told the argument number first. An entry
without VJPs has derivative zero wherever it exists (its output is a constant).

Shapes (see :mod:`neuralogic_py.engine`): a value is ``(rows, cols)``; a batch of n
values is ``(n, rows, cols)``; a 2-D argument is one value shared by the batch and
receives the batch-summed gradient. Arguments that are not tensors (index
structures, targets, fact values) are constants.

Maths, x the input, y the output, g the output gradient::

    ==================  =================================================  ===================================
    op                  forward                                            gradient to x
    ==================  =================================================  ===================================
    gather              y_j = x[ids_j]                                     segment sum of g
    segment_sum         y_s = sum_{j in s} x_j                             g[ids_j]
    segment_mean        y_s = sum_{j in s} x_j / |s|                       g[ids_j] / |s|
    segment_max / min   element-wise extreme over the members of s         g to the first member attaining it
    segment_softmax     y_j = exp x_j / sum_{i in s} exp x_i (per elem.)   y (g - sum_s g y)
    segment_concat      column vector of the members' elements             split of g
    segment_count       |s|                                                0
    add / subtract      a +- b (broadcasting)                              g, +-g (summed over broadcast axes)
    multiply            a * b (broadcasting; scalar x value)               g b, g a
    matmul              a @ b per batch item                               g b^T, a^T g
    transpose           x^T                                                g^T
    reshape             x viewed with another shape (row-major)            g reshaped back
    concat_rows         batches stacked along axis 0                       the rows of g
    sum_all / mean_all  sum / mean of every element                        g, g / size
    sigmoid             1/(1+e^-x); 1 if x>100, 0 if x<-100                g y (1-y), 0 where |x|>100
    tanh                tanh x                                             g (1 - y^2)
    relu                max(x, 0)                                          g [x > 0]
    leakyrelu           x if x > 0 else s x (slope s, 0.01 by default)     g (1 if x > 0 else s)
    signum              1 if x > 0 else 0 (a step, not sign)               0
    exp / log / sqrt    e^x, ln x, sqrt x                                  g y, g / x, g / (2y)
    inverse / reverse   1/x, 1 - x                                         -g y^2, -g
    lukasiewicz         1/(1+e^-(6x+0.5)); 1 if x>100, 0 if x<-100         6 g y (1-y), 0 where |x|>100
    softmax             e^x / sum e^x over each value's elements           y (g - <g, y>)
    sparsemax           projection of each value onto the simplex          g - mean_S g on the support S
    norm                (x - mean) / sqrt(var + 1e-10) per value           (g - mean g - y mean(g y)) / sqrt(var+eps)
    slice_values        x[rows, cols] per value (a block of it)            g in the block, 0 elsewhere
    combine_sum / avg   x_1 + ... + x_k (/ k), scalars broadcast           g (/ k)
    combine_max / min   element-wise extreme of the inputs                 g to the first input attaining it
    combine_elproduct   x_1 * ... * x_k element-wise                       g * product of the other inputs
    combine_crosssum    [x_1[i_1] + ... + x_k[i_k]] over all index tuples  g summed over the other indices
    combine_concat      all elements of x_1..x_k as one column vector      the slice of g
    combine_cossim      <a, b> / (|a| |b|)                                 g (b/(|a||b|) - y a/|a|^2)
    combine_count       k                                                  0
    mse                 mean over a value's elements of (o - t)^2          2 g (o - t) / elements
    bce_logits          mean of max(z,0) - z t + log(1+e^-|z|) (elements)  g (sigmoid z - t) / elements
    softmax_ce_logits   -sum_i t_i log softmax(z)_i                        g (softmax(z) sum t - t)
    crossentropy        binary -log(o or 1-o, by t); vector -sum t log o   g d/do, 0 where capped at 100
    ==================  =================================================  ===================================

Differences from the reference engine, on purpose: lukasiewicz's derivative carries the
factor 6 (the reference omits it, so its gradient is not the derivative of its value);
max/min combinations and aggregations of vectors are element-wise (the reference picks
the whole input with the largest element sum); mse's gradient is that of the mean
(the reference's 2(t-o) ignores the 1/elements factor for vector outputs). tanh needs
no explicit clamp: 1 - tanh(x)^2 is exactly 0 in float64 beyond ``|x| = 19.1``.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np

from . import kernels as k
from .segments import Segments
from .tape import Tensor, defop, defop_argnum, value_of

# -- structure: gathers and segment reductions (aggregations) --------------------------------

gather = defop("gather", lambda x, seg: seg.gather(x), lambda g, ans, x, seg: seg.sum(g))
segment_sum = defop("segment_sum", lambda x, seg: seg.sum(x), lambda g, ans, x, seg: seg.gather(g))
segment_mean = defop("segment_mean", lambda x, seg: seg.mean(x),
                     lambda g, ans, x, seg: seg.gather(g / seg.per_segment(seg.counts)))
segment_max = defop("segment_max", lambda x, seg: seg.reduce(np.maximum, x),
                    lambda g, ans, x, seg: seg.route_to_extreme(g, x, ans))
segment_min = defop("segment_min", lambda x, seg: seg.reduce(np.minimum, x),
                    lambda g, ans, x, seg: seg.route_to_extreme(g, x, ans))
segment_softmax = defop("segment_softmax", lambda x, seg: seg.softmax(x),
                        lambda g, ans, x, seg: ans * (g - seg.gather(seg.sum(g * ans))))
segment_concat = defop("segment_concat", lambda x, seg: seg.concat(x),
                       lambda g, ans, x, seg: seg.split(g, x.shape[1:]))
segment_count = defop("segment_count", lambda x, seg: seg.per_segment(seg.counts.astype(np.float64)))

# -- algebra ---------------------------------------------------------------------------------

add = defop("add", np.add, lambda g, ans, a, b: k.unbroadcast(g, a.shape),
            lambda g, ans, a, b: k.unbroadcast(g, b.shape))
subtract = defop("subtract", np.subtract, lambda g, ans, a, b: k.unbroadcast(g, a.shape),
                 lambda g, ans, a, b: -k.unbroadcast(g, b.shape))
multiply = defop("multiply", np.multiply, lambda g, ans, a, b: k.unbroadcast(g * b, a.shape),
                 lambda g, ans, a, b: k.unbroadcast(g * a, b.shape))
matmul = defop("matmul", k.matmul, lambda g, ans, a, b: k.matmul_grad_left(g, a, b),
               lambda g, ans, a, b: k.matmul_grad_right(g, a, b))
transpose = defop("transpose", k.swap, lambda g, ans, x: k.swap(g))
reshape = defop("reshape", lambda x, shape: x.reshape(shape), lambda g, ans, x, shape: g.reshape(x.shape))
concat_rows = defop_argnum("concat_rows", lambda *xs: np.concatenate(xs, axis=0),
                           lambda i, g, ans, *xs: k.rows_of(g, xs, i))
sum_all = defop("sum_all", lambda x: np.asarray(x.sum()), lambda g, ans, x: np.broadcast_to(g, x.shape))
mean_all = defop("mean_all", lambda x: np.asarray(x.mean()), lambda g, ans, x: np.broadcast_to(g / x.size, x.shape))

# -- activations: element-wise ---------------------------------------------------------------

sigmoid = defop("sigmoid", k.saturating_logistic,
                lambda g, ans, x: g * ans * (1.0 - ans) * k.unsaturated(x))
tanh = defop("tanh", np.tanh, lambda g, ans, x: g * (1.0 - ans * ans))
relu = defop("relu", lambda x: np.maximum(x, 0.0), lambda g, ans, x: g * (x > 0))
leakyrelu = defop("leakyrelu", lambda x, slope=k.LEAKY_SLOPE: np.where(x > 0, x, slope * x),
                  lambda g, ans, x, slope=k.LEAKY_SLOPE: g * np.where(x > 0, 1.0, slope))
signum = defop("signum", lambda x: (x > 0).astype(np.float64))
exp = defop("exp", np.exp, lambda g, ans, x: g * ans)
log = defop("log", np.log, lambda g, ans, x: g / x)
sqrt = defop("sqrt", np.sqrt, lambda g, ans, x: g * 0.5 / ans)
inverse = defop("inverse", lambda x: 1.0 / x, lambda g, ans, x: -g * ans * ans)
reverse = defop("reverse", lambda x: 1.0 - x, lambda g, ans, x: -g)
lukasiewicz = defop("lukasiewicz", lambda x: k.saturating_logistic(x, 6.0, 0.5),
                    lambda g, ans, x: g * 6.0 * ans * (1.0 - ans) * k.unsaturated(x))

# -- activations: joint over each value ------------------------------------------------------

softmax = defop("softmax", k.softmax, lambda g, ans, x: k.softmax_vjp(g, ans))
sparsemax = defop("sparsemax", k.sparsemax, lambda g, ans, x: k.sparsemax_vjp(g, ans))
norm = defop("norm", k.norm, lambda g, ans, x: k.norm_vjp(g, ans, x))
slice_values = defop("slice_values", lambda x, rows, cols: x[..., rows, cols],
                     lambda g, ans, x, rows, cols: k.placed(g, x.shape, rows, cols))

# -- combinations over a fixed list of inputs (one neuron per batch row) --------------------


def _elementwise(ufunc: np.ufunc):
    def forward(*xs: np.ndarray) -> np.ndarray:
        k.check_same_value_shapes(xs)
        return reduce(ufunc, xs)
    return forward


_add_all = _elementwise(np.add)
combine_sum = defop_argnum("combine_sum", _add_all, lambda i, g, ans, *xs: k.unbroadcast(g, xs[i].shape))
combine_avg = defop_argnum("combine_avg", lambda *xs: _add_all(*xs) / len(xs),
                           lambda i, g, ans, *xs: k.unbroadcast(g / len(xs), xs[i].shape))
combine_max = defop_argnum("combine_max", _elementwise(np.maximum),
                           lambda i, g, ans, *xs: k.unbroadcast(g * k.first_extreme_mask(xs, ans, i), xs[i].shape))
combine_min = defop_argnum("combine_min", _elementwise(np.minimum),
                           lambda i, g, ans, *xs: k.unbroadcast(g * k.first_extreme_mask(xs, ans, i), xs[i].shape))
combine_elproduct = defop_argnum("combine_elproduct", _elementwise(np.multiply),
                                 lambda i, g, ans, *xs: k.unbroadcast(g * k.product_of_others(xs, i, ans),
                                                                      xs[i].shape))
combine_crosssum = defop_argnum("combine_crosssum", k.crosssum, lambda i, g, ans, *xs: k.crosssum_vjp(i, g, xs))
combine_concat = defop_argnum("combine_concat", k.concat, lambda i, g, ans, *xs: k.concat_vjp(i, g, xs))
combine_cossim = defop("combine_cossim", k.cossim, lambda g, ans, a, b: k.cossim_vjp(0, g, ans, a, b),
                       lambda g, ans, a, b: k.cossim_vjp(1, g, ans, a, b))
combine_count = defop("combine_count", lambda *xs: np.full(_count_shape(xs), float(len(xs))))

# -- losses: one number per sample (a sample's output is one value); targets are constants ---

mse = defop("mse", k.mse, lambda g, ans, o, t: k.per_sample(g) * 2.0 * (o - t) / (o.shape[-2] * o.shape[-1]))
bce_logits = defop("bce_logits", k.bce_logits,
                   lambda g, ans, z, t: k.per_sample(g) * (k.stable_sigmoid(z) - t) / (z.shape[-2] * z.shape[-1]))
softmax_ce_logits = defop("softmax_ce_logits", k.softmax_ce_logits,
                          lambda g, ans, z, t: k.per_sample(g) * (k.softmax(z) * k.per_value_sum(t) - t))
crossentropy = defop("crossentropy", k.crossentropy, lambda g, ans, o, t: k.crossentropy_vjp(g, o, t))


# -- compositions of primitives (their gradients follow from the table) ----------------------

def identity(x: Any) -> Any:
    """The identity activation records nothing."""
    return x


def times(a: Any, b: Any) -> Tensor:
    """The reference's ``w.times(x)``: scalar times anything is element-wise, else a matrix product.

    So matrix x column vector, row x column (dot), column x row (outer) and row x matrix
    are all ``matmul``; column x column has no product and raises.
    """
    if k.is_scalar_value(value_of(a)) or k.is_scalar_value(value_of(b)):
        return multiply(a, b)
    return matmul(a, b)


def combine_product(*xs: Any) -> Tensor:
    """``x_1 times x_2 times ...``, left to right, with :func:`times`."""
    return reduce(times, xs)


def combine_softmax(*xs: Any) -> Tensor:
    """Softmax over k scalar inputs (or the elements of one vector): a k-vector, 1 for one input."""
    return softmax(combine_concat(*xs))


def combine_sparsemax(*xs: Any) -> Tensor:
    """Sparsemax over k scalar inputs, as :func:`combine_softmax`."""
    return sparsemax(combine_concat(*xs))


def aggregate_softmax(x: Any, seg: Segments) -> Tensor:
    """The softmax aggregation: each segment's probabilities over its members, as a column vector.

    The split form used for attention (each member keeps its own probability) is
    :data:`segment_softmax` alone.
    """
    return segment_concat(segment_softmax(x, seg), seg)


def _count_shape(xs: tuple) -> tuple[int, ...]:
    n = k.batch_size(xs)
    return (1, 1) if n is None else (n, 1, 1)
