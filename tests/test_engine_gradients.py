"""Every primitive of the op table against central finite differences (relative error < 1e-6).

Inputs stay away from kinks (relu at 0, ties in max/min, sparsemax support edges),
where a one-sided derivative is all a finite difference can see.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuralogic_py.engine import OPS, Segments, ops, value_and_grad
from neuralogic_py.engine.functions import activation, split_softmax
from neuralogic_py.engine.gradcheck import gradient_errors

TOLERANCE = 1e-6
rng = np.random.default_rng(20240611)


def normal(*shape: int) -> np.ndarray:
    return rng.normal(size=shape)


def positive(*shape: int) -> np.ndarray:
    return rng.uniform(0.5, 2.0, size=shape)


def away_from_zero(*shape: int) -> np.ndarray:
    return rng.uniform(0.2, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


UNSORTED = Segments(np.array([2, 0, 1, 0, 2, 2, 1]), 3)
SORTED = Segments.from_offsets(np.array([0, 2, 3, 6]))
GATHER = Segments(np.array([1, 0, 1, 3, 2, 1]), 4)
GROUPS = Segments(np.array([4, 0, 2, 1, 4, 5, 3]), 6)  # the members' own heads; UNSORTED their partitions
UNIFORM = Segments(np.array([1, 0, 1, 0, 2, 2]), 3)
BINARY = (rng.uniform(size=(5, 1, 1)) > 0.5).astype(float)
ONE_HOT = np.eye(3)[[0, 2, 1, 1]][:, :, None]
REGRESSION_TARGET = normal(5, 2, 1)

# (case id, primitive name, function, arguments); arguments that are arrays are checked.
CASES = [
    ("gather", "gather", ops.gather, (normal(4, 2, 1), GATHER)),
    ("segment_sum vectors", "segment_sum", ops.segment_sum, (normal(7, 3, 1), UNSORTED)),
    ("segment_sum scalars", "segment_sum", ops.segment_sum, (normal(6, 1, 1), SORTED)),
    ("segment_mean", "segment_mean", ops.segment_mean, (normal(7, 2, 2), UNSORTED)),
    ("segment_max", "segment_max", ops.segment_max, (normal(7, 3, 1), UNSORTED)),
    ("segment_min", "segment_min", ops.segment_min, (normal(6, 1, 3), SORTED)),
    ("segment_softmax", "segment_softmax", ops.segment_softmax, (normal(7, 1, 1), UNSORTED)),
    ("segment_softmax vectors", "segment_softmax", ops.segment_softmax, (normal(6, 2, 1), SORTED)),
    ("segment_concat", "segment_concat", ops.segment_concat, (normal(6, 2, 1), UNIFORM)),
    ("segment_count", "segment_count", ops.segment_count, (normal(6, 1, 1), SORTED)),
    ("add broadcast", "add", ops.add, (normal(4, 3, 1), normal(1, 1))),
    ("subtract", "subtract", ops.subtract, (normal(3, 1), normal(4, 3, 1))),
    ("multiply scalar weight", "multiply", ops.multiply, (normal(1, 1), normal(4, 3, 1))),
    ("multiply batches", "multiply", ops.multiply, (normal(4, 2, 2), normal(4, 2, 2))),
    ("matmul shared x batch", "matmul", ops.matmul, (normal(3, 2), normal(5, 2, 1))),
    ("matmul shared x batch of matrices", "matmul", ops.matmul, (normal(3, 2), normal(5, 2, 4))),
    ("matmul batch x shared", "matmul", ops.matmul, (normal(5, 1, 3), normal(3, 2))),
    ("matmul batch x batch", "matmul", ops.matmul, (normal(5, 2, 3), normal(5, 3, 1))),
    ("matmul shared x shared", "matmul", ops.matmul, (normal(2, 3), normal(3, 4))),
    ("transpose", "transpose", ops.transpose, (normal(4, 2, 3),)),
    ("reshape", "reshape", lambda x: ops.reshape(x, (1, 3, 2)), (normal(3, 2),)),
    ("concat_rows", "concat_rows", ops.concat_rows, (normal(2, 3, 1), normal(4, 3, 1), normal(1, 3, 1))),
    ("sum_all", "sum_all", ops.sum_all, (normal(4, 2, 1),)),
    ("mean_all", "mean_all", ops.mean_all, (normal(4, 2, 1),)),
    ("sigmoid", "sigmoid", ops.sigmoid, (np.concatenate([normal(6, 1, 1), [[[150.0]], [[-150.0]]]]),)),
    ("tanh", "tanh", ops.tanh, (normal(4, 3, 1),)),
    ("relu", "relu", ops.relu, (away_from_zero(5, 3, 1),)),
    ("leakyrelu", "leakyrelu", lambda x: ops.leakyrelu(x, 0.01), (away_from_zero(5, 3, 1),)),
    ("leakyrelu slope 0.2", "leakyrelu", lambda x: ops.leakyrelu(x, 0.2), (away_from_zero(5, 3, 1),)),
    ("slice_values rows", "slice_values", lambda x: ops.slice_values(x, slice(1, 3), slice(None)),
     (normal(4, 4, 1),)),
    ("slice_values block", "slice_values", lambda x: ops.slice_values(x, slice(0, 2), slice(1, 3)),
     (normal(3, 3, 4),)),
    ("signum", "signum", ops.signum, (away_from_zero(5, 3, 1),)),
    ("exp", "exp", ops.exp, (normal(4, 2, 1),)),
    ("log", "log", ops.log, (positive(4, 2, 1),)),
    ("sqrt", "sqrt", ops.sqrt, (positive(4, 2, 1),)),
    ("inverse", "inverse", ops.inverse, (positive(4, 2, 1),)),
    ("reverse", "reverse", ops.reverse, (normal(4, 2, 1),)),
    ("lukasiewicz", "lukasiewicz", ops.lukasiewicz, (np.concatenate([normal(6, 1, 1) / 3, [[[101.0]]]]),)),
    ("softmax column", "softmax", ops.softmax, (normal(4, 5, 1),)),
    ("softmax matrix", "softmax", ops.softmax, (normal(3, 2, 3),)),
    ("sparsemax", "sparsemax", ops.sparsemax, (normal(5, 6, 1) * 0.4,)),
    ("norm", "norm", ops.norm, (normal(4, 5, 1),)),
    ("norm matrix", "norm", ops.norm, (normal(3, 2, 2),)),
    ("combine_sum with offset", "combine_sum", ops.combine_sum, (normal(1, 1), normal(4, 3, 1), normal(4, 3, 1))),
    ("combine_avg", "combine_avg", ops.combine_avg, (normal(3, 1), normal(4, 3, 1), normal(4, 1, 1))),
    ("combine_max", "combine_max", ops.combine_max, (normal(4, 3, 1), normal(4, 3, 1), normal(4, 1, 1))),
    ("combine_min", "combine_min", ops.combine_min, (normal(4, 2, 2), normal(2, 2), normal(4, 2, 2))),
    ("combine_elproduct", "combine_elproduct", ops.combine_elproduct,
     (normal(4, 3, 1), normal(4, 1, 1), normal(3, 1))),
    ("combine_crosssum", "combine_crosssum", ops.combine_crosssum,
     (normal(1, 1), normal(4, 2, 1), normal(4, 1, 3))),
    ("combine_concat", "combine_concat", ops.combine_concat, (normal(4, 2, 1), normal(1, 3), normal(4, 1, 1))),
    ("combine_cossim", "combine_cossim", ops.combine_cossim, (normal(4, 3, 1), normal(4, 3, 1))),
    ("combine_cossim shared", "combine_cossim", ops.combine_cossim, (normal(3, 1), normal(4, 3, 1))),
    ("combine_count", "combine_count", ops.combine_count, (normal(4, 1, 1), normal(4, 1, 1))),
    ("mse", "mse", lambda o: ops.mse(o, REGRESSION_TARGET), (normal(5, 2, 1),)),
    ("bce_logits", "bce_logits", lambda z: ops.bce_logits(z, BINARY), (normal(5, 1, 1) * 3,)),
    ("softmax_ce_logits", "softmax_ce_logits", lambda z: ops.softmax_ce_logits(z, ONE_HOT), (normal(4, 3, 1),)),
    ("crossentropy binary", "crossentropy", lambda o: ops.crossentropy(o, BINARY),
     (rng.uniform(0.1, 0.9, size=(5, 1, 1)),)),
    ("crossentropy vector", "crossentropy", lambda o: ops.crossentropy(o, ONE_HOT),
     (rng.uniform(0.1, 0.9, size=(4, 3, 1)),)),
]

COMPOSITIONS = [
    ("times scalar x vector", ops.times, (normal(1, 1), normal(4, 3, 1))),
    ("times matrix x column", ops.times, (normal(2, 3), normal(4, 3, 1))),
    ("product row x column (dot)", ops.combine_product, (normal(4, 1, 3), normal(4, 3, 1))),
    ("product column x row (outer)", ops.combine_product, (normal(4, 3, 1), normal(4, 1, 2))),
    ("product row x matrix x column", ops.combine_product, (normal(4, 1, 3), normal(3, 2), normal(4, 2, 1))),
    ("product of scalars and a vector", ops.combine_product, (normal(4, 1, 1), normal(4, 2, 1), normal(4, 1, 1))),
    ("combine_softmax", ops.combine_softmax, (normal(4, 1, 1), normal(4, 1, 1), normal(4, 1, 1))),
    ("combine_sparsemax", ops.combine_sparsemax, (normal(4, 1, 1) * 0.3, normal(4, 1, 1) * 0.3, normal(4, 1, 1) * 0.3)),
    ("aggregate_softmax", lambda x: ops.aggregate_softmax(x, UNIFORM), (normal(6, 1, 1),)),
    ("split_softmax", lambda x: split_softmax(x, UNSORTED, GROUPS), (normal(7, 1, 1),)),
    ("split_softmax vectors", lambda x: split_softmax(x, UNSORTED, GROUPS), (normal(7, 2, 1),)),
    ("activation leakyrelu(0.3)", activation("leakyrelu(0.3)"), (away_from_zero(4, 2, 1),)),
    ("activation slice", activation("slice(rows=[1, 3], cols=[0, 1])"), (normal(4, 3, 2),)),
    ("activation reshape", activation("reshape(shape=[2, 3])"), (normal(4, 6, 1),)),
]


@pytest.mark.parametrize("case_id, name, fun, args", CASES, ids=[c[0] for c in CASES])
def test_primitive_gradient(case_id, name, fun, args):
    errors = gradient_errors(fun, *args)
    assert errors and max(errors) < TOLERANCE, errors


@pytest.mark.parametrize("case_id, fun, args", COMPOSITIONS, ids=[c[0] for c in COMPOSITIONS])
def test_composed_gradient(case_id, fun, args):
    errors = gradient_errors(fun, *args)
    assert max(errors) < TOLERANCE, errors


def test_every_registered_primitive_has_a_gradient_case():
    assert set(OPS) == {name for _, name, _, _ in CASES}


def test_a_small_network_layer_end_to_end():
    """gather -> shared matmul -> offset sum -> tanh -> segment mean -> head weight -> sigmoid -> MSE,
    with one weight used in two body positions so its gradient accumulates over paths."""
    inputs = normal(5, 2, 1)
    first, second = Segments(np.array([0, 1, 1, 2, 3, 4]), 5), Segments(np.array([4, 2, 3, 0, 1, 0]), 5)
    heads = Segments.from_offsets(np.array([0, 2, 3, 6]))
    target = rng.uniform(size=(3, 1, 1))

    def network(w_body, offset, w_head, x):
        body = ops.combine_sum(offset, ops.matmul(w_body, ops.gather(x, first)),
                               ops.matmul(w_body, ops.gather(x, second)))
        aggregated = ops.segment_mean(ops.tanh(body), heads)
        return ops.mean_all(ops.mse(ops.sigmoid(ops.matmul(w_head, aggregated)), target))

    errors = gradient_errors(network, normal(3, 2), normal(3, 1), normal(1, 3), inputs)
    assert max(errors) < TOLERANCE, errors


def test_gradient_descent_learns_xor_through_the_engine():
    """{1,8} xor :- {8,2} xy. with tanh rule and sigmoid output, full-batch gradient descent on the 4 samples."""
    xy = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)[:, :, None]
    target = np.array([0, 1, 1, 0], dtype=float).reshape(4, 1, 1)
    init = np.random.default_rng(0)
    params = [init.uniform(-1, 1, size=(8, 2)), init.uniform(-1, 1, size=(8, 1)), init.uniform(-1, 1, size=(1, 8))]

    def loss(hidden, offset, head):
        rule = ops.tanh(ops.combine_sum(offset, ops.matmul(hidden, xy)))
        return ops.mean_all(ops.bce_logits(ops.matmul(head, rule), target))

    step = value_and_grad(loss, argnums=(0, 1, 2))
    for _ in range(500):
        _, grads = step(*params)
        params = [p - 1.0 * g for p, g in zip(params, grads)]
    hidden, offset, head = params
    logits = head @ np.tanh(hidden @ xy + offset)
    assert ((logits > 0) == (target > 0.5)).all()
