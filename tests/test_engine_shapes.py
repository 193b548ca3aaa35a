"""The shape convention: values are (rows, cols), batches (n, rows, cols), 2-D arrays are shared."""

from __future__ import annotations

import numpy as np
import pytest

from neuralogic_py.engine import Segments, backward, ops, variable
from neuralogic_py.engine import functions as engine_functions
from neuralogic_py.language import functions as language_functions

N = 5
rng = np.random.default_rng(7)


def batch(rows: int, cols: int) -> np.ndarray:
    return rng.normal(size=(N, rows, cols))


@pytest.mark.parametrize("weight_shape, input_shape, result_shape", [
    ((8, 2), (2, 1), (8, 1)),   # matrix x column: the typical {8,2} layer
    ((1, 8), (8, 1), (1, 1)),   # row x column: a scalar
    ((3, 1), (1, 1), (3, 1)),   # column x scalar: a scaled column (the embedding {3,1} of a fact)
    ((1, 1), (4, 1), (4, 1)),   # scalar weight scales element-wise
    ((3, 1), (1, 2), (3, 2)),   # column x row: outer product
    ((1, 3), (3, 2), (1, 2)),   # row x matrix: a row
])
def test_weighted_inputs_follow_the_reference_algebra(weight_shape, input_shape, result_shape):
    w = variable(rng.normal(size=weight_shape))
    y = ops.times(w, batch(*input_shape))
    assert y.value.shape == (N, *result_shape)
    (g,) = backward(ops.sum_all(y), [w])
    assert g.shape == weight_shape  # a shared weight's gradient is summed over the batch


def test_shared_weight_product_equals_per_item_products():
    w, x = rng.normal(size=(3, 2)), batch(2, 4)
    assert ops.matmul(w, x).value == pytest.approx(np.stack([w @ item for item in x]), rel=1e-14)
    assert ops.matmul(np.swapaxes(x, 1, 2), w.T).value == pytest.approx(
        np.stack([item.T @ w.T for item in x]), rel=1e-14)


def test_output_shapes_of_combinations():
    column, scalar, offset = batch(3, 1), batch(1, 1), np.zeros((1, 1))
    assert ops.combine_sum(offset, column, scalar).value.shape == (N, 3, 1)
    assert ops.combine_crosssum(column, batch(2, 1)).value.shape == (N, 6, 1)
    assert ops.combine_concat(column, batch(1, 2)).value.shape == (N, 5, 1)
    assert ops.combine_cossim(column, column).value.shape == (N, 1, 1)
    assert ops.combine_count(column, scalar).value.shape == (N, 1, 1)
    assert ops.combine_softmax(scalar, scalar, scalar).value.shape == (N, 3, 1)
    assert ops.softmax(batch(2, 3)).value.shape == (N, 2, 3)
    assert ops.mse(column, column).value.shape == (N,)


def test_combinations_of_shared_values_stay_shared():
    a, b = np.ones((2, 1)), np.ones((3, 1))
    assert ops.combine_crosssum(a, b).value.shape == (6, 1)
    assert ops.combine_concat(a, b).value.shape == (5, 1)
    assert ops.combine_count(a, b).value.shape == (1, 1)


def test_elementwise_combinations_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="different shapes"):
        ops.combine_sum(batch(3, 1), batch(1, 3))
    with pytest.raises(ValueError, match="different batch sizes"):
        ops.combine_concat(rng.normal(size=(2, 1, 1)), rng.normal(size=(3, 1, 1)))


def test_segment_shapes():
    seg = Segments.from_offsets(np.array([0, 2, 5]))
    x = batch(2, 3)
    for op in (ops.segment_sum, ops.segment_mean, ops.segment_max, ops.segment_min):
        assert op(x, seg).value.shape == (2, 2, 3)
    assert ops.segment_softmax(x, seg).value.shape == x.shape
    assert ops.segment_count(x, seg).value.shape == (2, 1, 1)
    assert ops.gather(ops.segment_sum(x, seg), seg).value.shape == x.shape


def test_every_language_function_has_an_engine_op():
    parameterised = {"slice": "slice(rows=[0, 1])", "reshape": "reshape(shape=[1, 2])"}  # no plain form
    assert set(engine_functions.ACTIVATIONS) == set(language_functions.ACTIVATIONS) - set(parameterised)
    x = np.abs(batch(2, 1)) + 0.1  # in every function's domain (log, sqrt)
    for name in language_functions.ACTIVATIONS:
        y = engine_functions.activation(parameterised.get(name, name))(x)
        assert len(y.value if hasattr(y, "value") else y) == N
    assert set(engine_functions.COMBINATIONS) == set(language_functions.COMBINATIONS)
    assert set(engine_functions.AGGREGATIONS) == set(language_functions.AGGREGATIONS)
